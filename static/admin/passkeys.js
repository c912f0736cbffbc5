// Passkeys: a button with data-passkey="create" or "get" asks the server for options (a POST
// with the form's CSRF token), asks the browser (WebAuthn) and posts its answer in the form.
(function () {
  function token(form) {
    var field = form.querySelector('input[name="csrf_token"]');
    return field ? field.value : '';
  }

  async function ceremony(button) {
    var form = button.closest('form');
    var status = form.querySelector('[data-passkey-status]');
    var name = form.querySelector('input[name="name"]');
    if (name && !name.reportValidity()) { return; }
    if (status) { status.textContent = ''; }
    try {
      if (!window.PublicKeyCredential || !PublicKeyCredential.parseRequestOptionsFromJSON) {
        throw new Error('This browser cannot use passkeys.');
      }
      var response = await fetch(button.dataset.optionsUrl, {
        method: 'POST',
        body: new URLSearchParams({ csrf_token: token(form) }),
        headers: { 'X-CSRF-Token': token(form) },
        credentials: 'same-origin'
      });
      var data = await response.json();
      if (!response.ok) { throw new Error(data.detail || 'The passkey could not be started.'); }
      var credential = button.dataset.passkey === 'create'
        ? await navigator.credentials.create({
          publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(data.options)
        })
        : await navigator.credentials.get({
          publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(data.options)
        });
      form.querySelector('input[name="passkey_ceremony"]').value = data.ceremony;
      form.querySelector('input[name="passkey_credential"]').value =
        JSON.stringify(credential.toJSON());
      form.submit();
    } catch (error) {
      if (status) { status.textContent = (error && error.message) || String(error); }
    }
  }

  document.addEventListener('click', function (event) {
    var button = event.target.closest('[data-passkey]');
    if (!button) { return; }
    event.preventDefault();
    ceremony(button);
  });
})();
