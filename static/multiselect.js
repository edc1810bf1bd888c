// A filter box above long checkbox lists (`ul[data-multiselect]`): typing
// hides the lines that do not match (accents and case ignored); ticked
// lines always stay visible. Without JavaScript the whole list shows.
(function () {
  "use strict";
  function fold(s) {
    return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().trim();
  }
  function enhance(list, n) {
    var id = "filtre-" + n;
    var box = document.createElement("div");
    box.className = "multiselect-filter";
    var label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = list.getAttribute("data-multiselect") || "Filtrer la liste";
    var input = document.createElement("input");
    input.type = "search";
    input.id = id;
    input.autocomplete = "off";
    var status = document.createElement("p");
    status.className = "hint";
    status.setAttribute("aria-live", "polite");
    box.appendChild(label);
    box.appendChild(input);
    box.appendChild(status);
    list.parentNode.insertBefore(box, list);
    var items = Array.prototype.slice.call(list.querySelectorAll("li"));
    function update() {
      var q = fold(input.value);
      var shown = 0;
      items.forEach(function (li) {
        var ticked = li.querySelector("input:checked") !== null;
        var match = q === "" || ticked || fold(li.textContent).indexOf(q) !== -1;
        li.hidden = !match;
        if (match) shown += 1;
      });
      var ticked = list.querySelectorAll("input:checked").length;
      status.textContent = (q === "" ? "" : shown + " sur " + items.length + " affichées · ") +
        ticked + (ticked > 1 ? " cochées" : " cochée");
    }
    input.addEventListener("input", update);
    list.addEventListener("change", update);
    // Enter in the filter must not send the form.
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter") e.preventDefault();
    });
    update();
  }
  function init() {
    var lists = document.querySelectorAll("ul[data-multiselect]");
    for (var i = 0; i < lists.length; i += 1) enhance(lists[i], i + 1);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
