// The main menu collapses behind a « Menu » button on small screens. Without
// JavaScript every link stays shown (they wrap); nothing here is needed to use the site.
(function () {
  // Words in the page's language (web/i18n.py), French by default.
  var T = (function () { var e = document.getElementById("textes-js"); try { return e ? JSON.parse(e.textContent) : {}; } catch (x) { return {}; } })();
  var links = document.getElementById("menu-principal");
  if (!links) return;
  var button = document.createElement("button");
  button.type = "button";
  button.className = "menu-toggle";
  button.textContent = T.menu || "Menu";
  button.setAttribute("aria-controls", "menu-principal");
  button.setAttribute("aria-expanded", "false");
  links.parentNode.insertBefore(button, links);
  document.documentElement.classList.add("menu-js");
  button.addEventListener("click", function () {
    var open = links.classList.toggle("open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });
})();
