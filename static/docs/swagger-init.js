// Starts Swagger UI (its bundle served by the app itself, see backoffice/api/docs.py).
// A file rather than an inline script, so the page's Content-Security-Policy forbids inline code.
(function () {
  "use strict";
  var config = document.currentScript.dataset;
  window.ui = SwaggerUIBundle({
    url: config.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    oauth2RedirectUrl: new URL(config.oauth2RedirectUrl, window.location.href).href,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
})();
