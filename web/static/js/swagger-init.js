/* The API's documentation page (Swagger UI), configured from data attributes:
   no inline script under the Content-Security-Policy. */
(function () {
  "use strict";
  var el = document.getElementById("swagger-ui-container");
  var config = { url: el.getAttribute("data-spec-url"), dom_id: "#swagger-ui-container" };
  var extra = JSON.parse(el.getAttribute("data-config") || "{}");
  Object.keys(extra).forEach(function (key) { config[key] = extra[key]; });
  window.ui = SwaggerUIBundle(config);
})();
