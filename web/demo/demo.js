// The demo site: SPA links (pushState/popstate), the "identify me" form and the live panel.
// Everything is written with textContent: nothing the visitor types is parsed as markup.
(function () {
  'use strict';
  var PAGES = {
    home: ['Home', 'Welcome to Acme Garden. This demo site embeds the visitord tracker: every page you open here, and every link within this page, is sent to visitord as navigation history.'],
    tools: ['Tools', 'Spades, rakes and trowels. Switching to this view was a pushState: no page load, and the tracker still sent it.'],
    seeds: ['Seeds', 'Tomatoes, beans and sunflowers. Use the browser\'s Back button: popstate is tracked too.']
  };
  var $ = function (id) { return document.getElementById(id); };

  function pageOf(url) {
    var p = new URL(url, location.href).searchParams.get('page');
    return PAGES[p] ? p : 'home';
  }

  function show(page) {
    var title = $('title');
    if (!title) return;
    title.textContent = PAGES[page][0];
    $('blurb').textContent = PAGES[page][1];
    document.title = 'Acme Garden — ' + PAGES[page][0];
    document.querySelectorAll('a[data-spa]').forEach(function (a) {
      if (a.getAttribute('data-spa') === page) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    });
  }

  function refresh() {
    var v = window.visitord;
    if (!v) return;
    $('token').textContent = v.getToken();
    var id = v.getVisitorId();
    $('visitor-id').textContent = id || '(not registered yet)';
    $('tracking').textContent = v.isTracking() ? 'on' : 'off: your browser asks not to be tracked (Global Privacy Control)';
    if (id) $('console-link').href = '/console/#/visitors/' + encodeURIComponent(id);
    var list = $('pages');
    var items = v.getSentPages().map(function (p) {
      var li = document.createElement('li');
      li.textContent = p.title + ' — ' + p.href;
      return li;
    });
    list.replaceChildren.apply(list, items);
  }

  document.addEventListener('click', function (e) {
    var a = e.target.closest && e.target.closest('a[data-spa]');
    if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    history.pushState({}, '', a.href);
    show(pageOf(a.href));
  });
  window.addEventListener('popstate', function () { show(pageOf(location.href)); });
  window.addEventListener('visitord:registered', refresh);
  window.addEventListener('visitord:pagevisited', refresh);
  window.addEventListener('load', refresh);

  var form = $('identify');
  if (form) {
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var status = $('identify-status');
      if (!window.visitord) { status.textContent = 'The tracker has not loaded.'; return; }
      status.textContent = 'Sending…';
      window.visitord.registerGuest({ name: $('name').value, email: $('email').value || undefined })
        .then(function (id) {
          status.textContent = id ? 'Thanks, you are now known to visitord.' : 'Not sent (tracking is off or the server refused).';
          refresh();
        });
    });
  }
  show(pageOf(location.href));
})();
