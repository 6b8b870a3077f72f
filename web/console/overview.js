// The Overview view: visitors in total, new visitors and page visits per day over 30 days as a
// bar chart (SVG built node by node; the same numbers in a table), and the most visited pages.

import { h, mount, safeHref } from './dom.js';
import { api, ApiError } from './api.js';

const SVG = 'http://www.w3.org/2000/svg';

function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  return el;
}

function chart(days) {
  const W = 900;
  const H = 240;
  const pad = { l: 40, b: 28, t: 10, r: 10 };
  const max = Math.max(1, ...days.map((d) => Math.max(d.newVisitors, d.pageVisits)));
  const slot = (W - pad.l - pad.r) / days.length;
  const bar = Math.max(2, slot / 2 - 2);
  const y = (n) => pad.t + (H - pad.t - pad.b) * (1 - n / max);
  const bars = [];
  days.forEach((d, i) => {
    const x = pad.l + i * slot + 1;
    for (const [n, cls, dx, what] of [[d.newVisitors, 'bar-visitors', 0, 'new visitors'], [d.pageVisits, 'bar-visits', bar + 1, 'page visits']]) {
      bars.push(s('rect', { class: cls, x: x + dx, y: y(n), width: bar, height: Math.max(0, H - pad.b - y(n)) },
        s('title', {}, `${d.date}: ${n} ${what}`)));
    }
    if (i % 5 === 0 || i === days.length - 1) {
      bars.push(s('text', { x: x, y: H - 8, class: 'tick' }, d.date.slice(5)));
    }
  });
  return s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-labelledby': 'chart-title' },
    s('title', { id: 'chart-title' }, 'New visitors and page visits per day over the last 30 days'),
    s('line', { x1: pad.l, x2: W - pad.r, y1: H - pad.b, y2: H - pad.b, class: 'axis' }),
    s('text', { x: 4, y: pad.t + 10, class: 'tick' }, String(max)),
    s('text', { x: 4, y: H - pad.b, class: 'tick' }, '0'),
    ...bars);
}

export function overviewView(main) {
  document.title = 'Overview — visitord console';
  const status = h('p', { role: 'status', class: 'status' }, 'Loading the overview…');
  mount(main, h('h1', { tabindex: '-1', id: 'view-title' }, 'Overview'), status);
  const controller = new AbortController();
  (async () => {
    try {
      const { overview: o } = await api('visitord.overview', { signal: controller.signal });
      const sum = (k) => o.days.reduce((n, d) => n + d[k], 0);
      status.textContent = '';
      mount(main,
        h('h1', { tabindex: '-1', id: 'view-title' }, 'Overview'),
        h('ul', { class: 'tiles' },
          h('li', { class: 'card' }, h('span', { class: 'big', id: 'total-visitors' }, String(o.visitors)), ' visitors in total'),
          h('li', { class: 'card' }, h('span', { class: 'big' }, String(sum('newVisitors'))), ' new visitors in 30 days'),
          h('li', { class: 'card' }, h('span', { class: 'big' }, String(sum('pageVisits'))), ' page visits in 30 days')),
        h('section', { class: 'card', 'aria-labelledby': 'per-day-h' },
          h('h2', { id: 'per-day-h' }, 'Per day (UTC), last 30 days'),
          h('p', { class: 'legend' }, h('span', { class: 'key key-visitors' }), ' new visitors ', h('span', { class: 'key key-visits' }), ' page visits'),
          chart(o.days),
          h('details', {}, h('summary', {}, 'The numbers as a table'),
            h('table', {}, h('caption', {}, 'New visitors and page visits per day'),
              h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Day'), h('th', { scope: 'col' }, 'New visitors'), h('th', { scope: 'col' }, 'Page visits'))),
              h('tbody', {}, o.days.map((d) => h('tr', {}, h('th', { scope: 'row' }, d.date), h('td', {}, String(d.newVisitors)), h('td', {}, String(d.pageVisits)))))))),
        h('section', { class: 'card', 'aria-labelledby': 'top-h' },
          h('h2', { id: 'top-h' }, 'Most visited pages, last 7 days'),
          o.topPages.length
            ? h('ol', { class: 'top-pages', id: 'top-pages' }, o.topPages.map((p) => {
              const link = safeHref(p.href);
              return h('li', {}, link ? h('a', { href: link, target: '_blank', rel: 'noopener noreferrer' }, p.href) : h('span', { class: 'url' }, p.href),
                ` — ${p.visits} visit${p.visits === 1 ? '' : 's'}`);
            }))
            : h('p', { class: 'empty' }, 'No page visits in the last 7 days.')));
      const t = document.getElementById('view-title');
      if (t) t.focus();
    } catch (e) {
      if (controller.signal.aborted) return;
      status.textContent = e instanceof ApiError && e.status === 403
        ? 'Access denied: your account may not see the overview.'
        : 'Could not load the overview: ' + e.message;
    }
  })();
  return { leave() { controller.abort(); } };
}
