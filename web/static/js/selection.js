// « Ajouter à ma sélection » without reloading the page: the same POST form
// (CSRF included), sent with fetch; the button, the menu's count and a status for
// screen readers follow. Without JavaScript the form posts and comes back.
(function () {
  // A status region for screen readers, outside the menu (hidden on phones).
  var status = document.createElement("div");
  status.id = "selection-annonce";
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  document.body.appendChild(status);
  function say(text) { if (status) { status.textContent = text; } }
  function count(n) {
    document.querySelectorAll(".selection-count").forEach(function (el) {
      el.textContent = n ? " (" + n + ")" : "";
    });
  }
  document.querySelectorAll("form.selection-toggle").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button");
      button.disabled = true;
      fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "Accept": "application/json" }
      }).then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      }).then(function (result) {
        if (!result.ok) { say(result.data.detail || form.dataset.error); return; }
        var chosen = result.data.dans_selection;
        form.action = chosen ? form.dataset.remove : form.dataset.add;
        button.querySelector(".selection-label").textContent = chosen ? button.dataset.labelRemove : button.dataset.labelAdd;
        button.className = chosen ? "secondary" : "outline";
        count(result.data.nombre);
        say(result.data.message);
      }).catch(function () {
        form.submit();  // the server answers with a page
      }).finally(function () { button.disabled = false; });
    });
  });
})();
