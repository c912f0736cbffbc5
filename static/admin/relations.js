// A relation select of an admin form (a foreign key, marked data-choices-url) becomes a text
// box that asks the server for matching rows as the user types: the page holds only the
// current value, never the related table. Keyboard: arrows move, Enter picks, Escape closes.
// The select stays in the form (hidden) and carries the chosen key; the server checks it.
(function () {
  'use strict';
  var counter = 0;

  function setup(select) {
    var url = select.getAttribute('data-choices-url');
    var id = 'bo-choices-' + (++counter);
    var wrapper = document.createElement('div');
    wrapper.className = 'bo-choices position-relative';
    var input = document.createElement('input');
    input.type = 'text';
    input.className = 'form-control';
    input.id = (select.id || id) + '-search';
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-expanded', 'false');
    input.setAttribute('aria-controls', id);
    input.setAttribute('autocomplete', 'off');
    input.placeholder = 'Type to search…';
    var list = document.createElement('ul');
    list.id = id;
    list.className = 'bo-choices-list dropdown-menu w-100';
    list.setAttribute('role', 'listbox');
    list.style.maxHeight = '18rem';
    list.style.overflowY = 'auto';
    var label = document.querySelector('label[for="' + select.id + '"]');
    if (label) { label.setAttribute('for', input.id); }
    if (select.getAttribute('aria-label')) {
      input.setAttribute('aria-label', select.getAttribute('aria-label'));
    }
    if (select.classList.contains('form-select-sm')) { input.classList.add('form-control-sm'); }
    select.parentNode.insertBefore(wrapper, select);
    wrapper.appendChild(input);
    wrapper.appendChild(list);
    select.hidden = true;
    select.tabIndex = -1;
    select.setAttribute('aria-hidden', 'true');

    var chosen = select.options[select.selectedIndex];
    input.value = chosen && chosen.value !== '__None' ? chosen.text : '';
    var active = -1, page = 1, timer = null, seq = 0;

    function items() { return list.querySelectorAll('[role="option"]'); }

    function close() {
      // A search still under way (typed, or sent) must not open the list again after a pick.
      clearTimeout(timer);
      seq++;
      list.classList.remove('show');
      input.setAttribute('aria-expanded', 'false');
      input.removeAttribute('aria-activedescendant');
      active = -1;
    }

    function highlight(index) {
      var all = items();
      if (!all.length) { return; }
      active = (index + all.length) % all.length;
      all.forEach(function (el, i) {
        el.classList.toggle('active', i === active);
        el.setAttribute('aria-selected', i === active ? 'true' : 'false');
      });
      input.setAttribute('aria-activedescendant', all[active].id);
      all[active].scrollIntoView({ block: 'nearest' });
    }

    function pick(el) {
      if (el.getAttribute('data-more')) { load(page + 1, true); return; }
      var key = el.getAttribute('data-id');
      var option = Array.prototype.find.call(select.options, function (o) { return o.value === key; });
      if (!option) {
        option = document.createElement('option');
        option.value = key;
        option.text = el.textContent;
        select.appendChild(option);
      }
      select.value = key;
      input.value = el.textContent;
      select.dispatchEvent(new Event('change', { bubbles: true }));
      close();
      if (select.hasAttribute('data-choices-submit') && select.form) { select.form.submit(); }
    }

    function entry(text, attrs) {
      var li = document.createElement('li');
      li.className = 'dropdown-item';
      li.id = id + '-' + list.children.length;
      li.setAttribute('role', 'option');
      li.textContent = text;
      Object.keys(attrs).forEach(function (k) { li.setAttribute(k, attrs[k]); });
      li.addEventListener('mousedown', function (event) { event.preventDefault(); pick(li); });
      list.appendChild(li);
    }

    function load(number, append) {
      var mine = ++seq;
      var address = new URL(url, window.location.href);
      address.searchParams.set('q', input.value.trim() === selectedText() ? '' : input.value.trim());
      address.searchParams.set('page', String(number));
      fetch(address.toString(), { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then(function (response) { return response.ok ? response.json() : { results: [], more: false }; })
        .then(function (body) {
          // An answer to an older query, or to one the user has left: ignored.
          if (mine !== seq || document.activeElement !== input) { return; }
          page = number;
          var more = list.querySelector('[data-more]');
          if (!append) { list.textContent = ''; } else if (more) { more.remove(); }
          body.results.forEach(function (item) { entry(item.label, { 'data-id': item.id }); });
          if (body.more) { entry('More…', { 'data-more': '1' }); }
          if (!list.children.length) {
            var none = document.createElement('li');
            none.className = 'dropdown-item disabled';
            none.textContent = 'No match';
            list.appendChild(none);
          }
          list.classList.add('show');
          input.setAttribute('aria-expanded', 'true');
          active = -1;
        });
    }

    function selectedText() {
      var option = select.options[select.selectedIndex];
      return option && option.value !== '__None' ? option.text : '';
    }

    input.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(function () { load(1, false); }, 200);
    });
    input.addEventListener('focus', function () { load(1, false); });
    input.addEventListener('keydown', function (event) {
      var open = list.classList.contains('show');
      if (event.key === 'ArrowDown') {
        event.preventDefault();
        if (!open) { load(1, false); } else { highlight(active + 1); }
      } else if (event.key === 'ArrowUp') {
        event.preventDefault();
        if (open) { highlight(active - 1); }
      } else if (event.key === 'Enter' && open && active >= 0) {
        event.preventDefault();
        pick(items()[active]);
      } else if (event.key === 'Escape' && open) {
        event.preventDefault();
        input.value = selectedText();
        close();
      }
    });
    input.addEventListener('blur', function () {
      if (!input.value.trim() && select.querySelector('option[value="__None"]')) {
        select.value = '__None';  // cleared: no related row
      } else {
        input.value = selectedText();
      }
      close();
    });
  }

  document.querySelectorAll('select[data-choices-url]').forEach(setup);
})();
