// tweetflow dashboard: polls the JSON API and draws SVG charts. No
// framework, no network beyond this server. All text from the data is set
// with textContent, never as HTML.
'use strict';

const SVG = 'http://www.w3.org/2000/svg';
const $ = (id) => document.getElementById(id);
const state = { range: 'all', from: null, to: null, extent: null, timer: null, seq: 0 };

function el(tag, attrs, text) {
  const e = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function fmtTime(ms, span) {
  const iso = new Date(ms).toISOString(); // UTC: tweet times are shown as stored
  if (span === undefined) return iso.slice(0, 19).replace('T', ' ');
  if (span <= 2 * 86400000) return iso.slice(11, 19);
  if (span <= 90 * 86400000) return iso.slice(5, 16).replace('T', ' ');
  return iso.slice(0, 10);
}

function fmtInterval(ms) {
  const units = [[86400000, 'd'], [3600000, 'h'], [60000, 'min'], [1000, 's']];
  for (const [u, name] of units) if (ms >= u && ms % u === 0) return (ms / u) + ' ' + name;
  return ms + ' ms';
}

function niceTicks(lo, hi, n) {
  if (!(hi > lo)) { hi = lo + 1; }
  const raw = (hi - lo) / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toFixed(10));
  return out;
}

function toInput(ms) { return new Date(ms).toISOString().slice(0, 19); }
function fromInput(s) { return s ? Date.parse(s + 'Z') : null; }

// chart draws points [{t, v}] over [from, to) into container.
//   opts: interval, yMin, yMax, bars, threshold, direction, alerts, name
function chart(container, pts, opts) {
  const W = Math.max(container.clientWidth || 800, 300), H = 220;
  const m = { l: 56, r: 12, t: 10, b: 26 };
  const pw = W - m.l - m.r, ph = H - m.t - m.b;
  const svg = el('svg:svg', { viewBox: `0 0 ${W} ${H}`, 'data-points': pts.length, 'aria-label': opts.name });
  const { from, to } = opts;
  const x = (t) => m.l + ((t - from) / (to - from)) * pw;
  let yMin = opts.yMin, yMax = opts.yMax;
  if (yMin === undefined || yMax === undefined || !(yMax > yMin)) {
    const vs = pts.map((p) => p.v);
    if (opts.threshold !== undefined) vs.push(opts.threshold);
    yMin = opts.bars ? 0 : Math.min(...vs);
    yMax = Math.max(...vs);
    if (!(yMax > yMin)) yMax = yMin + 1;
  }
  const y = (v) => m.t + ph - ((v - yMin) / (yMax - yMin)) * ph;
  for (const v of niceTicks(yMin, yMax, 4)) {
    svg.append(el('svg:line', { class: 'grid', x1: m.l, x2: W - m.r, y1: y(v), y2: y(v) }));
    svg.append(el('svg:text', { x: m.l - 6, y: y(v) + 4, 'text-anchor': 'end' }, Math.abs(v) >= 1000 ? v.toLocaleString() : String(v)));
  }
  const span = to - from;
  for (let i = 0; i <= 5; i++) {
    const t = from + (span * i) / 5;
    svg.append(el('svg:text', { x: x(t), y: H - 8, 'text-anchor': i === 0 ? 'start' : i === 5 ? 'end' : 'middle' }, fmtTime(t, span)));
  }
  svg.append(el('svg:line', { class: 'axis', x1: m.l, x2: m.l, y1: m.t, y2: m.t + ph }));
  svg.append(el('svg:line', { class: 'axis', x1: m.l, x2: W - m.r, y1: m.t + ph, y2: m.t + ph }));
  for (const a of opts.alerts || []) {
    const x0 = Math.max(x(a.start), m.l), x1 = Math.min(x(a.end), W - m.r);
    if (x1 < m.l || x0 > W - m.r) continue;
    const r = el('svg:rect', { class: 'alert-mark', x: x0, y: m.t, width: Math.max(x1 - x0, 2), height: ph });
    r.append(el('svg:title', {}, a.message));
    svg.append(r);
  }
  if (pts.length === 0) {
    svg.append(el('svg:text', { class: 'empty', x: m.l + pw / 2, y: m.t + ph / 2, 'text-anchor': 'middle' }, 'no data in this range'));
  } else if (opts.bars) {
    const bw = Math.max((opts.interval / span) * pw - 1, 1);
    for (const p of pts) {
      const r = el('svg:rect', { class: 'bar', x: x(p.t), y: y(p.v), width: bw, height: Math.max(y(yMin) - y(p.v), 0.5) });
      r.append(el('svg:title', {}, `${fmtTime(p.t)}: ${p.v.toLocaleString()} tweets`));
      svg.append(r);
    }
  } else {
    // A gap of more than one interval breaks the line: no data is not zero.
    let d = '', prev = null;
    for (const p of pts) {
      const cx = x(p.t + opts.interval / 2);
      d += (prev !== null && p.t - prev <= opts.interval ? 'L' : 'M') + cx.toFixed(1) + ' ' + y(p.v).toFixed(1) + ' ';
      prev = p.t;
    }
    svg.append(el('svg:path', { class: 'line', d: d.trim() }));
    if (pts.length <= 120) {
      for (const p of pts) {
        const c = el('svg:circle', { cx: x(p.t + opts.interval / 2), cy: y(p.v), r: 2, fill: '#2563eb' });
        c.append(el('svg:title', {}, `${fmtTime(p.t)}: ${p.v.toFixed(3)}`));
        svg.append(c);
      }
    }
  }
  if (opts.threshold !== undefined && opts.threshold >= yMin && opts.threshold <= yMax) {
    svg.append(el('svg:line', { class: 'threshold', x1: m.l, x2: W - m.r, y1: y(opts.threshold), y2: y(opts.threshold) }));
    svg.append(el('svg:text', { class: 'threshold-label', x: W - m.r - 4, y: y(opts.threshold) - 4, 'text-anchor': 'end' },
      `threshold ${opts.threshold} (${opts.direction})`));
  }
  container.replaceChildren(svg);
}

async function getJSON(url) {
  const r = await fetch(url, { cache: 'no-store' });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || `${r.status} ${r.statusText}`);
  return body;
}

function rangeParams() {
  const p = new URLSearchParams();
  if (state.range === 'custom') {
    if (state.from !== null) p.set('from', state.from);
    if (state.to !== null) p.set('to', state.to);
  } else if (state.range !== 'all' && state.extent) {
    const to = state.extent.last + 1;
    p.set('from', Math.max(to - Number(state.range), state.extent.first));
    p.set('to', to);
  }
  return p;
}

function setStatus(text, error) {
  $('status').textContent = text;
  $('status').className = error ? 'error' : '';
}

async function refresh() {
  const seq = ++state.seq;
  try {
    const ov = await getJSON('/api/overview?' + rangeParams());
    if (ov.first !== undefined) state.extent = { first: ov.first, last: ov.last };
    const al = await getJSON('/api/alerts?limit=200&' + new URLSearchParams({ from: ov.from, to: ov.to }));
    if (seq !== state.seq) return; // a newer refresh started meanwhile
    render(ov, al.alerts);
    setStatus(`updated ${new Date().toLocaleTimeString()}` + ($('live').checked ? ' · live' : ''));
    schedule(ov.poll_ms);
  } catch (err) {
    setStatus('error: ' + err.message, true);
    schedule(5000);
  }
}

function schedule(ms) {
  clearTimeout(state.timer);
  if ($('live').checked) state.timer = setTimeout(() => { if (!document.hidden) refresh(); else schedule(ms); }, ms || 2000);
}

function render(ov, alerts) {
  $('count').textContent = ov.count.toLocaleString();
  $('extent').textContent = ov.first !== undefined ? `stored ${fmtTime(ov.first)} – ${fmtTime(ov.last)} UTC` : 'no tweets stored yet';
  $('alert-count').textContent = ov.alerts.toLocaleString();
  $('interval').textContent = fmtInterval(ov.series.interval_ms);
  const src = { dash_rollup_minute: 'per-minute rollup', dash_rollup_hour: 'per-hour rollup' }[ov.series.source] || 'tweets';
  $('points').textContent = `${ov.series.points.length} points, read from the ${src}`;
  if (state.range !== 'custom') {
    $('from').value = toInput(ov.from);
    $('to').value = toInput(ov.to);
  }
  const marks = alerts.filter((a) => a.kind !== 'threshold').map((a) => ({
    start: Date.parse(a.window_start), end: Date.parse(a.window_end), message: a.message }));
  const base = { from: ov.series.from, to: ov.series.to, interval: ov.series.interval_ms };
  chart($('chart-rate'), ov.series.points.map((p) => ({ t: p.t, v: p.n })),
    { ...base, bars: true, alerts: marks, name: 'tweets per interval' });
  const box = $('model-charts');
  for (const m of ov.models) {
    let panel = document.getElementById('panel-' + m.name);
    if (!panel) {
      panel = el('section', { class: 'panel', id: 'panel-' + m.name });
      panel.append(el('h2', {}, `${m.name}: average per interval` + (m.description ? ` · ${m.description}` : '')));
      panel.append(el('div', { class: 'chart', id: 'chart-' + m.name }));
      box.append(panel);
    }
    const pts = ov.series.points.filter((p) => p.avg && p.avg[m.name] !== undefined).map((p) => ({ t: p.t, v: p.avg[m.name] }));
    const bounded = m.max > m.min;
    chart($('chart-' + m.name), pts, { ...base, yMin: bounded ? m.min : undefined, yMax: bounded ? m.max : undefined,
      threshold: m.threshold, direction: m.direction, alerts: marks, name: m.name + ' average' });
  }
  renderAlerts(alerts);
}

function renderAlerts(alerts) {
  const box = $('alerts');
  if (alerts.length === 0) {
    box.replaceChildren(el('div', { class: 'small' }, 'No alerts in this range.'));
    return;
  }
  box.replaceChildren(...alerts.map((a) => {
    const d = el('div', { class: 'alert ' + a.kind, 'data-kind': a.kind });
    d.append(el('span', { class: 'kind' }, a.kind), el('span', { class: 'when' },
      `${fmtTime(Date.parse(a.window_start))} – ${fmtTime(Date.parse(a.window_end))} UTC`));
    d.append(el('div', {}, a.message));
    if (a.accounts && a.accounts.length) d.append(el('div', { class: 'detail' }, 'accounts: ' + a.accounts.map((u) => '@' + u).join(', ')));
    if (a.texts && a.texts.length) d.append(el('div', { class: 'detail' }, 'texts: ' + a.texts.map((t) => `“${t}”`).join(' · ')));
    if (a.kind === 'coordination') d.append(el('a', { class: 'network-link', href: 'network.html?alert=' + encodeURIComponent(a.id) }, 'network view'));
    return d;
  }));
}

// The filters and the API parameter each sets.
const FILTERS = [['f-hashtag', 'hashtag'], ['f-url', 'url'], ['f-lang', 'lang'], ['f-account', 'account']];

// setFilter fills one filter from a result (a hashtag or link clicked)
// and searches again.
function setFilter(id, value) {
  $(id).value = value;
  search();
}

// kindOf says what a tweet is: retweet, quote or reply, with the id of
// the tweet it retweets, quotes or replies to.
function kindOf(t) {
  const parts = [];
  if (t.retweet_of) parts.push(['retweet', 'retweet of ' + t.retweet_of]);
  if (t.quote_of) parts.push(['quote', 'quote of ' + t.quote_of]);
  if (t.reply_to) parts.push(['reply', 'reply to ' + t.reply_to]);
  return parts;
}

function tweetCell(t) {
  const td = el('td', { class: 'tweet' });
  for (const [kind, text] of kindOf(t)) td.append(el('span', { class: 'mark ' + kind, 'data-kind': kind }, text));
  td.append(el('div', {}, t.text));
  const tags = el('div', { class: 'entities' });
  for (const h of t.hashtags || []) {
    const a = el('button', { type: 'button', class: 'chip hashtag' }, '#' + h);
    a.addEventListener('click', () => setFilter('f-hashtag', h));
    tags.append(a);
  }
  for (const u of t.urls || []) {
    const a = el('button', { type: 'button', class: 'chip url' }, u);
    a.addEventListener('click', () => setFilter('f-url', u));
    tags.append(a);
  }
  if (tags.childNodes.length) td.append(tags);
  return td;
}

async function search(before) {
  const p = rangeParams();
  const q = $('q').value.trim(), user = $('user').value.trim();
  const filters = FILTERS.map(([id, name]) => [name, $(id).value.trim()]).filter(([, v]) => v);
  if (!q && !user && !filters.length) { $('search-status').textContent = 'Type a text or a user, or set a filter.'; return; }
  if (q) p.set('q', q);
  if (user) p.set('user', user);
  for (const [name, v] of filters) p.set(name, v);
  if (before) p.set('to', before);
  p.set('limit', 50);
  $('search-status').textContent = 'searching…';
  try {
    const res = await getJSON('/api/search?' + p);
    const models = [...new Set(res.tweets.flatMap((t) => Object.keys(t.scores)))].sort();
    const head = el('tr');
    for (const h of ['time (UTC)', 'user', 'lang', 'tweet', ...models]) head.append(el('th', {}, h));
    $('results').tHead.replaceChildren(head);
    const rows = res.tweets.map((t) => {
      const tr = el('tr', { class: 'hit', 'data-id': t.id });
      const who = el('td', {}, '@' + t.user);
      if (t.user_id) who.title = 'account id ' + t.user_id;
      tr.append(el('td', { class: 'time' }, fmtTime(t.time)), who, el('td', { class: 'lang' }, t.lang || ''), tweetCell(t));
      for (const m of models) {
        const s = t.scores[m];
        tr.append(el('td', { class: 'num' }, s ? `${s.value.toFixed(3)} ${s.label}` : '–'));
      }
      return tr;
    });
    $('results').tBodies[0].replaceChildren(...rows);
    const st = $('search-status');
    st.replaceChildren(`${res.tweets.length} tweet(s)` + (res.complete ? '' : `, newest first, searched back to ${fmtTime(res.searched_from)} UTC `));
    if (!res.complete && res.tweets.length < 50) {
      const more = el('button', { type: 'button' }, 'search further back');
      more.addEventListener('click', () => search(res.searched_from));
      st.append(more);
    }
  } catch (err) {
    $('search-status').textContent = 'error: ' + err.message;
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('preset').addEventListener('change', () => {
    state.range = $('preset').value;
    if (state.range !== 'custom') refresh();
  });
  $('range').addEventListener('submit', (e) => {
    e.preventDefault();
    const from = fromInput($('from').value), to = fromInput($('to').value);
    if (from === null || to === null || !(to > from)) { setStatus('choose a From before To', true); return; }
    state.range = 'custom'; state.from = from; state.to = to;
    $('preset').value = 'custom';
    refresh();
  });
  $('live').addEventListener('change', () => { if ($('live').checked) refresh(); else clearTimeout(state.timer); });
  $('search').addEventListener('submit', (e) => { e.preventDefault(); search(); });
  $('filters').addEventListener('submit', (e) => { e.preventDefault(); search(); });
  $('f-clear').addEventListener('click', () => { for (const [id] of FILTERS) $(id).value = ''; });
  window.addEventListener('resize', () => refresh());
  refresh();
});
