// The filters of the results sit in a <details> (« Filtres (n) »): closed on
// phones so that the results come first, opened on wide screens where they fit
// beside the list. Without JavaScript the <details> works as it is.
(function () {
  var panel = document.getElementById("filtres");
  if (panel && window.matchMedia("(min-width: 1024px)").matches) panel.open = true;
})();
