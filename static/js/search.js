// The header's live search: move through the results with the arrow keys, close them with Escape or by leaving.
(function () {
  "use strict";

  function panel() {
    return document.getElementById("header-search-panel");
  }

  function links() {
    var found = panel();
    return found ? Array.prototype.slice.call(found.querySelectorAll("a[href]")) : [];
  }

  function close() {
    var found = panel();
    if (found) found.innerHTML = "";
  }

  document.addEventListener("keydown", function (event) {
    var form = event.target.closest && event.target.closest(".header-search");
    if (!form || !panel()) return;
    var input = document.getElementById("header-q");
    var all = links();
    var at = all.indexOf(event.target);
    if (event.key === "Escape") {
      close();
      input.focus();
    } else if (event.key === "ArrowDown" && all.length) {
      event.preventDefault();
      all[Math.min(at + 1, all.length - 1)].focus();
    } else if (event.key === "ArrowUp" && at >= 0) {
      event.preventDefault();
      if (at === 0) input.focus();
      else all[at - 1].focus();
    }
  });

  // Focus leaving the search box and its results closes them.
  document.addEventListener("focusout", function (event) {
    var form = event.target.closest && event.target.closest(".header-search");
    if (form && panel() && !(event.relatedTarget && form.contains(event.relatedTarget))) close();
  });
})();
