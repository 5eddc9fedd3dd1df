/* Print buttons: hidden without JavaScript (nothing to click), shown and wired here,
   so that pages need no inline script or onclick attribute. */
(function () {
  "use strict";
  document.querySelectorAll(".js-print").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function (event) {
      event.preventDefault();
      window.print();
    });
  });
})();
