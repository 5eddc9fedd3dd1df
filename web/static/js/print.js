// « Imprimer » buttons: hidden without JavaScript (they could do nothing), shown
// and wired here (no inline handler: the Content-Security-Policy forbids them).
document.querySelectorAll(".js-print").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
});
