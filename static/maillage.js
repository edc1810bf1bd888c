// Progressive enhancement only: every page works without this file.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () { window.print(); });
  });
  var summary = document.querySelector(".error-summary");
  if (summary) { summary.focus(); }
});
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-copy]").forEach(function (b) {
    var input = document.getElementById(b.getAttribute("data-copy"));
    if (!input || !navigator.clipboard) { return; }
    b.hidden = false;
    b.addEventListener("click", function () {
      navigator.clipboard.writeText(input.value).then(function () { b.textContent = "Lien copié"; });
    });
  });
});

// Import jobs: follow the progress of running jobs without reloading.
document.addEventListener("DOMContentLoaded", function () {
  var cells = document.querySelectorAll("[data-job]");
  cells.forEach(function (cell) {
    var timer = setInterval(function () {
      fetch("/api/v1/imports/" + cell.getAttribute("data-job"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (job) {
          if (!job) { return; }
          cell.textContent = job.state;
          if (job.status === "done" || job.status === "failed") { clearInterval(timer); location.reload(); }
        });
    }, 2000);
  });
});

// Participation questionnaires: show a conditional question only when the
// answer it depends on is chosen (without JavaScript every question shows,
// with its « répondez seulement si … » note; the server ignores hidden ones).
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("questionnaire");
  if (!form) { return; }
  var blocks = form.querySelectorAll("[data-cond-field]");
  if (!blocks.length) { return; }
  function chosen(name, value) {
    var inputs = form.querySelectorAll("[name='" + name + "']");
    for (var i = 0; i < inputs.length; i++) {
      var el = inputs[i];
      if ((el.type === "radio" || el.type === "checkbox") ? el.checked && el.value === value : el.value === value) { return true; }
    }
    return false;
  }
  function visible(block) {
    if (!chosen(block.getAttribute("data-cond-field"), block.getAttribute("data-cond-value"))) { return false; }
    var src = form.querySelector("[name='" + block.getAttribute("data-cond-field") + "']");
    var parent = src && src.closest("[data-cond-field]");
    return parent ? visible(parent) : true;
  }
  function update() {
    blocks.forEach(function (b) {
      var show = visible(b);
      b.hidden = !show;
      var note = b.querySelector(".cond-note");
      if (note) { note.hidden = true; }
    });
  }
  form.addEventListener("change", update);
  update();
});

// Back office: warn before leaving a form with unsaved changes. Submitting
// the form, or any form, clears the warning.
document.addEventListener("DOMContentLoaded", function () {
  if (!document.body.classList.contains("back-office")) { return; }
  var dirty = false;
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    if (form.hasAttribute("data-no-unsaved-warning")) { return; }
    form.addEventListener("input", function () { dirty = true; });
    form.addEventListener("change", function () { dirty = true; });
    form.addEventListener("submit", function () { dirty = false; });
  });
  window.addEventListener("beforeunload", function (e) {
    if (!dirty) { return; }
    e.preventDefault();
    e.returnValue = "";
  });
});
