/* Commune field with suggestions (an ARIA 1.2 combobox). Without JavaScript the
   field is a plain text input that the server resolves. Choosing a suggestion fills
   the hidden code_commune field; typing again clears it. */
(function () {
  "use strict";
  // Words in the page's language (web/i18n.py), French by default.
  var T = (function () { var e = document.getElementById("textes-js"); try { return e ? JSON.parse(e.textContent) : {}; } catch (x) { return {}; } })();
  function setup(input) {
    var url = input.getAttribute("data-autocomplete");
    var code = document.getElementById(input.getAttribute("data-code-field"));
    var listId = input.id + "-suggestions";
    var list = document.createElement("ul");
    list.id = listId;
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", T.communes_proposees || "Communes proposées");
    list.className = "suggestions";
    list.hidden = true;
    input.parentNode.appendChild(list);
    var status = document.createElement("div");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    input.parentNode.appendChild(status);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    var items = [], active = -1, timer = null, seq = 0;

    function close() {
      list.hidden = true; active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }
    function highlight(i) {
      var options = list.querySelectorAll("[role=option]");
      options.forEach(function (o, j) { o.setAttribute("aria-selected", j === i ? "true" : "false"); });
      active = i;
      if (i >= 0) input.setAttribute("aria-activedescendant", options[i].id);
      else input.removeAttribute("aria-activedescendant");
    }
    function choose(i) {
      var c = items[i];
      input.value = c.label;
      if (code) code.value = c.code;
      close();
    }
    function render(found) {
      items = found;
      list.innerHTML = "";
      found.forEach(function (c, i) {
        var li = document.createElement("li");
        li.id = listId + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.textContent = c.detail || c.label;
        li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(i); });
        list.appendChild(li);
      });
      var open = found.length > 0;
      list.hidden = !open;
      input.setAttribute("aria-expanded", open ? "true" : "false");
      status.textContent = T.communes_n ? T.communes_n.replace("%(num)s", String(found.length))
        : found.length + " commune" + (found.length > 1 ? "s" : "") + " proposée" + (found.length > 1 ? "s" : "");
      active = -1;
    }
    input.addEventListener("input", function () {
      if (code) code.value = "";
      clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 2) { close(); return; }
      timer = setTimeout(function () {
        var mine = ++seq;
        fetch(url + "?q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (found) { if (mine === seq && document.activeElement === input) render(found); })
          .catch(function () { close(); });
      }, 150);
    });
    input.addEventListener("keydown", function (e) {
      if (list.hidden) return;
      if (e.key === "ArrowDown") { e.preventDefault(); highlight(Math.min(active + 1, items.length - 1)); }
      else if (e.key === "ArrowUp") { e.preventDefault(); highlight(Math.max(active - 1, 0)); }
      else if (e.key === "Enter" && active >= 0) { e.preventDefault(); choose(active); }
      else if (e.key === "Escape") { close(); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
  }
  document.querySelectorAll("input[data-autocomplete]").forEach(setup);
})();
