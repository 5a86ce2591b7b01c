// A button marked data-print prints the page (no inline script: the CSP forbids it).
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    if (e.target.closest("[data-print]")) { window.print(); }
  });
})();
