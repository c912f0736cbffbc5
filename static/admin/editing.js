// Editing helpers of the admin's forms, each an enhancement of markup that works without it:
// - a many-to-many select (data-chooser) becomes a two-sided chooser: "Available" and "Chosen"
//   lists, a search box over the available ones, and buttons (or a double click) to move rows
//   across. The native select stays in the form, hidden, and carries the chosen keys.
// - an inline section (fieldset.bo-inline) gets an "Add another" button copying its template
//   row with the next index (without the script, its blank rows still add children).
(function () {
  'use strict';
  var counter = 0;

  function option(value, label) {
    var o = document.createElement('option');
    o.value = value;
    o.textContent = label;
    o.title = label;
    return o;
  }

  function button(text, label) {
    var b = document.createElement('button');
    b.type = 'button';
    b.className = 'btn btn-sm btn-outline-secondary';
    b.textContent = text;
    b.setAttribute('aria-label', label);
    b.title = label;
    return b;
  }

  function column(title, list, extra, note) {
    var box = document.createElement('div');
    box.className = 'bo-chooser-side';
    var heading = document.createElement('div');
    heading.className = 'bo-chooser-title';
    heading.textContent = title;
    if (note) heading.appendChild(note);
    box.appendChild(heading);
    if (extra) box.appendChild(extra);
    box.appendChild(list);
    return box;
  }

  function setupChooser(select) {
    var id = 'bo-chooser-' + (++counter);
    var label = document.querySelector('label[for="' + select.id + '"]');
    var name = label ? label.textContent.trim() : 'items';
    var search = document.createElement('input');
    search.type = 'search';
    search.className = 'form-control form-control-sm mb-1 bo-chooser-search';
    search.placeholder = 'Filter…';
    search.setAttribute('aria-label', 'Filter available ' + name.toLowerCase());
    var available = document.createElement('select');
    available.multiple = true;
    available.className = 'form-select bo-chooser-available';
    available.id = id + '-available';
    available.setAttribute('aria-label', 'Available ' + name.toLowerCase());
    var chosen = document.createElement('select');
    chosen.multiple = true;
    chosen.className = 'form-select bo-chooser-chosen';
    chosen.id = id + '-chosen';
    chosen.setAttribute('aria-label', 'Chosen ' + name.toLowerCase());
    var add = button('→', 'Choose selected');
    add.classList.add('bo-chooser-add');
    var remove = button('←', 'Remove selected');
    remove.classList.add('bo-chooser-remove');
    var addAll = button('⇉', 'Choose all shown');
    var removeAll = button('⇇', 'Remove all');
    var buttons = document.createElement('div');
    buttons.className = 'bo-chooser-buttons';
    [add, remove, addAll, removeAll].forEach(function (b) { buttons.appendChild(b); });
    var count = document.createElement('span');
    count.className = 'bo-chooser-count text-muted small';
    var wrapper = document.createElement('div');
    wrapper.className = 'bo-chooser';
    wrapper.appendChild(column('Available', available, search));
    wrapper.appendChild(buttons);
    wrapper.appendChild(column('Chosen', chosen, null, count));

    function render() {
      var term = search.value.trim().toLowerCase();
      available.textContent = '';
      chosen.textContent = '';
      var shown = 0;
      Array.prototype.forEach.call(select.options, function (o) {
        var text = o.textContent.trim();
        if (o.selected) {
          chosen.appendChild(option(o.value, text));
        } else if (!term || text.toLowerCase().indexOf(term) !== -1) {
          available.appendChild(option(o.value, text));
          shown++;
        }
      });
      count.textContent = ' (' + chosen.options.length + ')';
      addAll.disabled = shown === 0;
      removeAll.disabled = chosen.options.length === 0;
    }

    function move(from, selected, all) {
      var keys = {};
      Array.prototype.forEach.call(from.options, function (o) {
        if (all || o.selected) keys[o.value] = true;
      });
      Array.prototype.forEach.call(select.options, function (o) {
        if (keys[o.value]) o.selected = selected;
      });
      render();
      select.dispatchEvent(new Event('change', { bubbles: true }));
    }

    add.addEventListener('click', function () { move(available, true, false); });
    remove.addEventListener('click', function () { move(chosen, false, false); });
    addAll.addEventListener('click', function () { move(available, true, true); });
    removeAll.addEventListener('click', function () { move(chosen, false, true); });
    available.addEventListener('dblclick', function () { move(available, true, false); });
    chosen.addEventListener('dblclick', function () { move(chosen, false, false); });
    available.addEventListener('keydown', function (e) {
      if (e.key === 'Enter') { e.preventDefault(); move(available, true, false); }
    });
    chosen.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' || e.key === 'Delete') { e.preventDefault(); move(chosen, false, false); }
    });
    search.addEventListener('input', render);
    search.addEventListener('keydown', function (e) {
      if (e.key === 'Enter') e.preventDefault(); // never submits the form
    });
    select.hidden = true;
    select.setAttribute('aria-hidden', 'true');
    select.parentNode.insertBefore(wrapper, select);
    if (label) label.setAttribute('for', search.id = id + '-search');
    render();
  }

  function setupInline(fieldset) {
    var template = fieldset.querySelector('template.bo-inline-template');
    var total = fieldset.querySelector('input.bo-inline-total');
    var body = fieldset.querySelector('tbody');
    var add = fieldset.querySelector('button.bo-inline-add');
    if (!template || !total || !body || !add) return;
    add.hidden = false;
    add.addEventListener('click', function () {
      var index = parseInt(total.value, 10) || 0;
      var html = template.innerHTML.replace(/999999/g, String(index)).replace(/1000000\)/g, (index + 1) + ')');
      var holder = document.createElement('tbody');
      holder.innerHTML = html;
      var row = holder.querySelector('tr');
      body.appendChild(row);
      total.value = String(index + 1);
      var first = row.querySelector('input:not([type=hidden]), select');
      if (first) first.focus();
    });
  }

  function setup() {
    document.querySelectorAll('select[multiple][data-chooser]').forEach(setupChooser);
    document.querySelectorAll('fieldset.bo-inline').forEach(setupInline);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', setup);
  } else {
    setup();
  }
})();
