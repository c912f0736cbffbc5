// Starts ReDoc (its bundle served by the app itself, see backoffice/api/docs.py).
// A file rather than an inline script, so the page's Content-Security-Policy forbids inline code.
(function () {
  "use strict";
  var config = document.currentScript.dataset;
  Redoc.init(config.openapiUrl, {}, document.getElementById("redoc-container"));
})();
