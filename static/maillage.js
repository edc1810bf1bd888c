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
