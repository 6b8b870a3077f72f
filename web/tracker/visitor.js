/*! visitord tracker — records a site's page visits as Rocket.Chat Livechat navigation history.
 *
 * <script async src="https://HOST/livechat/visitor.js" data-name="…" data-email="…"></script>
 * Options (data-* on the tag): name, email, phone, department, strip-query ("true": send URLs
 * without query string and fragment), respect-gpc ("false": track even when the browser sends
 * Global Privacy Control), server (the visitord origin; default: where this script came from).
 * API: window.visitord.{registerGuest, setGuestToken, setGuestName, setGuestEmail,
 * setCustomField, setCustomFields, setDepartment, initialize, pageVisited, …}; the
 * Rocket.Chat loader queue `RocketChat(function () { this.… })` is adopted.
 * Events on window: visitord:registered, visitord:pagevisited ({detail}).
 * It never throws into the host page. */
(function () {
  'use strict';
  var w = window;
  var d = document;
  if (w.visitord && w.visitord.version) return;
  var KEY = 'visitord:token';
  var FP = 'visitord:registered';
  var VID = 'visitord:visitor';
  var mem = {};

  function guard(f) {
    return function () {
      try {
        return f.apply(this, arguments);
      } catch (e) {
        try { w.console && w.console.warn('visitord:', e); } catch (ignored) { /* nothing to do */ }
      }
    };
  }

  function load(k) {
    try {
      var v = w.localStorage.getItem(k);
      if (v !== null) return v;
    } catch (e) { /* storage blocked: memory only */ }
    return Object.prototype.hasOwnProperty.call(mem, k) ? mem[k] : null;
  }

  function save(k, v) {
    mem[k] = v;
    try { w.localStorage.setItem(k, v); } catch (e) { /* storage blocked: memory only */ }
  }

  function randomToken() {
    var b = new Uint8Array(32);
    var s = '';
    if (w.crypto && w.crypto.getRandomValues) w.crypto.getRandomValues(b);
    else for (var i = 0; i < 32; i++) b[i] = Math.floor(Math.random() * 256);
    for (var j = 0; j < b.length; j++) s += (b[j] < 16 ? '0' : '') + b[j].toString(16);
    return s;
  }

  // Options from the script tag.
  var tag = d.currentScript;
  if (!tag) {
    var all = d.getElementsByTagName('script');
    for (var k = all.length - 1; k >= 0; k--) {
      if (/\/livechat\/(visitor|rocketchat-livechat\.min)\.js/.test(all[k].src || '')) { tag = all[k]; break; }
    }
  }
  function opt(name) {
    var v = tag && tag.getAttribute('data-' + name);
    return v === null || v === undefined ? undefined : v;
  }
  var base = opt('server');
  if (!base) {
    try { base = new URL(tag.src, d.baseURI).origin; } catch (e) { base = w.location.origin; }
  }
  if (!base && w.RocketChat && w.RocketChat.url) base = String(w.RocketChat.url).replace(/\/livechat\/?$/, '');
  base = String(base).replace(/\/+$/, '');
  var stripQuery = opt('strip-query') === 'true';
  var gpc = opt('respect-gpc') !== 'false' && w.navigator && w.navigator.globalPrivacyControl === true;

  var guest = {};
  var fields = {};
  ['name', 'email', 'phone', 'department'].forEach(function (f) {
    var v = opt(f);
    if (v) guest[f] = v;
  });
  var token = load(KEY);
  if (!token) {
    token = randomToken();
    save(KEY, token);
  }
  var visitorId = load(VID);
  var pausedUntil = 0;
  var lastHref = null;
  var sent = [];
  var timer = null;
  var registering = null;

  function emit(name, detail) {
    try { w.dispatchEvent(new CustomEvent(name, { detail: detail })); } catch (e) { /* old browser */ }
  }

  function post(path, body) {
    if (gpc) return Promise.resolve(null);
    if (Date.now() < pausedUntil) return Promise.resolve(null);
    return fetch(base + '/api/v1/livechat/' + path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      credentials: 'omit',
      keepalive: true,
      mode: 'cors'
    }).then(function (res) {
      if (res.status === 429) {
        var reset = Number(res.headers.get('X-RateLimit-Reset'));
        pausedUntil = reset > Date.now() ? reset : Date.now() + 60000;
        return null;
      }
      return res.ok ? res.json() : null;
    }).catch(function () { return null; });
  }

  function fingerprint() {
    return JSON.stringify([token, guest, fields]);
  }

  function register(force) {
    var fp = fingerprint();
    if (!force && load(FP) === fp) return registering || Promise.resolve(visitorId);
    var v = { token: token };
    for (var f in guest) if (guest[f]) v[f] = String(guest[f]).slice(0, 256);
    var cf = [];
    for (var key in fields) cf.push({ key: key, value: fields[key].value, overwrite: fields[key].overwrite });
    if (cf.length) v.customFields = cf;
    registering = post('visitor', { visitor: v }).then(function (out) {
      registering = null;
      if (out && out.visitor) {
        visitorId = out.visitor._id;
        save(VID, visitorId);
        save(FP, fp);
        emit('visitord:registered', { token: token, visitorId: visitorId, visitor: out.visitor });
      }
      return visitorId;
    });
    return registering;
  }

  function currentHref() {
    var href = String(w.location.href);
    if (stripQuery) href = href.split('#')[0].split('?')[0];
    return href.slice(0, 4096);
  }

  function send(change, force) {
    var href = currentHref();
    if (!force && href === lastHref) return;
    lastHref = href;
    var entry = { change: change || 'url', title: String(d.title || '').slice(0, 1024), location: { href: href } };
    (registering || Promise.resolve()).then(function () {
      return post('page.visited', { token: token, pageInfo: entry });
    }).then(function (out) {
      if (!out) return;
      sent.push({ href: href, title: entry.title, ts: new Date().toISOString() });
      if (sent.length > 50) sent.shift();
      emit('visitord:pagevisited', { token: token, href: href, title: entry.title, page: out.page });
    });
  }

  function soon() {
    if (timer) clearTimeout(timer);
    // Let the SPA set its new title first.
    timer = setTimeout(guard(function () { timer = null; send('url'); }), 250);
  }

  ['pushState', 'replaceState'].forEach(function (m) {
    var orig = w.history && w.history[m];
    if (typeof orig !== 'function') return;
    w.history[m] = function () {
      var out = orig.apply(this, arguments);
      guard(soon)();
      return out;
    };
  });
  w.addEventListener('popstate', guard(soon));
  w.addEventListener('hashchange', guard(soon));
  setInterval(guard(function () { if (currentHref() !== lastHref && !timer) soon(); }), 1000);

  function noop() { return undefined; }

  var api = {
    version: '1',
    registerGuest: guard(function (g) {
      g = g || {};
      if (g.token) api.setGuestToken(g.token);
      ['name', 'email', 'phone', 'department'].forEach(function (f) { if (g[f] !== undefined) guest[f] = g[f]; });
      if (g.customFields) api.setCustomFields(g.customFields);
      return register(false);
    }),
    setGuestToken: guard(function (t) {
      if (!t || t === token) return;
      token = String(t);
      save(KEY, token);
      register(true);
    }),
    setGuestName: guard(function (n) { guest.name = n; if (visitorId) register(false); }),
    setGuestEmail: guard(function (e) { guest.email = e; if (visitorId) register(false); }),
    setDepartment: guard(function (dep) { guest.department = dep; if (visitorId) register(false); }),
    setCustomField: guard(function (key, value, overwrite) {
      fields[String(key)] = { value: value === undefined ? '' : String(value), overwrite: overwrite !== false };
      if (visitorId) register(false);
    }),
    setCustomFields: guard(function (list) {
      (list || []).forEach(function (f) {
        if (Array.isArray(f)) fields[String(f[0])] = { value: String(f[1] === undefined ? '' : f[1]), overwrite: f[2] !== false };
        else if (f && f.key) fields[String(f.key)] = { value: String(f.value === undefined ? '' : f.value), overwrite: f.overwrite !== false };
      });
      if (visitorId) register(false);
    }),
    initialize: guard(function (p) {
      p = p || {};
      if (p.guestToken) api.setGuestToken(p.guestToken);
      if (p.guestName) guest.name = p.guestName;
      if (p.guestEmail) guest.email = p.guestEmail;
      if (p.department) guest.department = p.department;
      if (p.customField) api.setCustomField(p.customField.key, p.customField.value, p.customField.overwrite);
      if (p.setCustomFields) api.setCustomFields(p.setCustomFields);
      if (p.registerGuest) api.registerGuest(p.registerGuest);
      else register(false);
    }),
    pageVisited: guard(function (change) { send(change || 'url', true); }),
    getToken: function () { return token; },
    getVisitorId: function () { return visitorId; },
    getSentPages: function () { return sent.slice(); },
    isTracking: function () { return !gpc; }
  };
  ['setTheme', 'setLanguage', 'setAgent', 'setGuestMetadata', 'setBusinessUnit', 'clearBusinessUnit',
    'clearDepartment', 'maximizeWidget', 'minimizeWidget', 'showWidget', 'hideWidget', 'setParentUrl',
    'transferChat', 'onChatMaximized', 'onChatMinimized', 'onChatStarted', 'onChatEnded',
    'onPrechatFormSubmit', 'onOfflineFormSubmit', 'onWidgetShown', 'onWidgetHidden',
    'onAssignAgent', 'onAgentStatusChange', 'onQueuePositionChange', 'onServiceOffline'
  ].forEach(function (m) { api[m] = noop; });
  w.visitord = api;

  // Rocket.Chat's loader snippet: RocketChat(function () { this.setCustomField(…) }).
  var queue = (w.RocketChat && w.RocketChat._) || [];
  var rc = function (c) { if (typeof c === 'function') guard(c).call(api); };
  rc._ = { push: rc };
  rc.livechat = api;
  if (w.RocketChat && w.RocketChat.url) rc.url = w.RocketChat.url;
  w.RocketChat = rc;
  // The queued calls set data first, so the first registration already carries it.
  for (var q = 0; q < queue.length; q++) rc(queue[q]);

  guard(function () {
    register(false);
    send('url');
  })();
})();
