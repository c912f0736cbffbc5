// Sends the admin's CSRF token with the requests SQLAdmin's scripts make (the DELETE of
// "delete selected" and the CSV import), which carry no form field.
(function () {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (!meta) { return; }
  var token = meta.getAttribute('content');
  var safe = /^(GET|HEAD|OPTIONS|TRACE)$/i;
  if (window.jQuery) {
    window.jQuery.ajaxSetup({
      beforeSend: function (xhr, settings) {
        if (!safe.test(settings.type || settings.method || 'GET')) {
          xhr.setRequestHeader('X-CSRF-Token', token);
        }
      }
    });
  }
  var originalFetch = window.fetch;
  window.fetch = function (input, init) {
    init = init || {};
    var method = init.method || (input && input.method) || 'GET';
    var url = new URL(typeof input === 'string' ? input : input.url, window.location.href);
    if (!safe.test(method) && url.origin === window.location.origin) {
      var headers = new Headers(init.headers || {});
      headers.set('X-CSRF-Token', token);
      init.headers = headers;
    }
    return originalFetch.call(this, input, init);
  };
})();
