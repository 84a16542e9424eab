// Small behaviours every page shares, kept out of the markup so that the CSP can forbid inline script.
(function () {
  "use strict";

  // <form data-confirm="Question?">: ask before an ordinary (non-htmx) form is sent.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // <button data-dismiss="#selector">: empty a region (a confirmation panel, say).
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-dismiss]");
    if (!button) return;
    var region = document.querySelector(button.getAttribute("data-dismiss"));
    if (region) region.innerHTML = "";
  });
})();
