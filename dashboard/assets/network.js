// tweetflow: the account network of one coordination alert, drawn as an SVG
// force layout. No framework, no network beyond this server. All text from
// the data is set with textContent, never as HTML.
'use strict';

const SVG = 'http://www.w3.org/2000/svg';
const $ = (id) => document.getElementById(id);

function el(tag, attrs, text) {
  const e = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function fmtTime(ms) { return new Date(ms).toISOString().slice(0, 19).replace('T', ' '); }

// layout places nodes with a Fruchterman-Reingold force simulation: every
// pair repels, edges pull (harder with weight), and the step shrinks as it
// cools. It starts from a circle, so the same network is drawn the same way.
function layout(n, edges, w, h) {
  const pos = [];
  for (let i = 0; i < n; i++) {
    const a = (2 * Math.PI * i) / Math.max(n, 1);
    pos.push({ x: w / 2 + (w / 3) * Math.cos(a), y: h / 2 + (h / 3) * Math.sin(a) });
  }
  if (n < 2) return pos;
  const k = Math.sqrt((w * h) / n) * 0.6;
  let temp = w / 8;
  for (let it = 0; it < 300; it++) {
    const d = pos.map(() => ({ x: 0, y: 0 }));
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        let dx = pos[i].x - pos[j].x, dy = pos[i].y - pos[j].y;
        const dist = Math.max(Math.hypot(dx, dy), 0.01);
        const f = (k * k) / dist;
        dx /= dist; dy /= dist;
        d[i].x += dx * f; d[i].y += dy * f;
        d[j].x -= dx * f; d[j].y -= dy * f;
      }
    }
    for (const e of edges) {
      let dx = pos[e.a].x - pos[e.b].x, dy = pos[e.a].y - pos[e.b].y;
      const dist = Math.max(Math.hypot(dx, dy), 0.01);
      const f = ((dist * dist) / k) * (1 + Math.log2(e.weight));
      dx /= dist; dy /= dist;
      d[e.a].x -= dx * f; d[e.a].y -= dy * f;
      d[e.b].x += dx * f; d[e.b].y += dy * f;
    }
    for (let i = 0; i < n; i++) {
      // A weak pull to the centre keeps parts that share nothing in view.
      d[i].x += (w / 2 - pos[i].x) * 0.05 * k / 10;
      d[i].y += (h / 2 - pos[i].y) * 0.05 * k / 10;
      const len = Math.max(Math.hypot(d[i].x, d[i].y), 0.01);
      pos[i].x = Math.min(w - 30, Math.max(30, pos[i].x + (d[i].x / len) * Math.min(len, temp)));
      pos[i].y = Math.min(h - 20, Math.max(20, pos[i].y + (d[i].y / len) * Math.min(len, temp)));
    }
    temp *= 0.985;
  }
  return pos;
}

function renderAlert(net) {
  const a = net.alert;
  const box = $('alert-info');
  box.className = 'alert coordination alert-network';
  box.replaceChildren(
    el('span', { class: 'kind' }, a.kind),
    el('span', { class: 'when' }, `${fmtTime(Date.parse(a.window_start))} – ${fmtTime(Date.parse(a.window_end))} UTC`),
    el('div', {}, a.message),
    el('div', { class: 'detail' }, `${net.nodes.length} accounts, ${net.edges.length} edges, ${net.items.length} shared items; ` +
      `${net.tweets} tweets of these accounts read from ${fmtTime(net.from)} to ${fmtTime(net.to)} UTC` +
      (net.truncated ? ' (bounded: partial view)' : '')));
}

function renderItems(net, only) {
  const rows = net.items.map((it, i) => {
    const tr = el('tr', { class: 'item' + (only && !only.has(i) ? ' dim' : ''), 'data-kind': it.kind });
    tr.append(el('td', {}, it.kind), el('td', { class: 'num' }, String(it.accounts.length)),
      el('td', { class: 'num' }, String(it.tweet_ids.length)), el('td', { class: 'item' }, it.label));
    return tr;
  });
  if (rows.length === 0) {
    const tr = el('tr');
    tr.append(el('td', { colspan: '4', class: 'small' }, 'No item shared by two of these accounts in this range.'));
    rows.push(tr);
  }
  $('items').tBodies[0].replaceChildren(...rows);
}

function renderGraph(net) {
  const w = Math.max($('graph').clientWidth, 400), h = 560;
  const svg = el('svg:svg', { viewBox: `0 0 ${w} ${h}`, 'data-nodes': net.nodes.length, 'data-edges': net.edges.length });
  const pos = layout(net.nodes.length, net.edges, w, h);
  const select = (elem, items, what) => {
    for (const s of svg.querySelectorAll('.selected')) s.classList.remove('selected');
    elem.classList.add('selected');
    $('selection').textContent = what;
    renderItems(net, new Set(items));
  };
  const edges = el('svg:g', { class: 'edges' });
  for (const e of net.edges) {
    const line = el('svg:line', { class: 'edge', x1: pos[e.a].x, y1: pos[e.a].y, x2: pos[e.b].x, y2: pos[e.b].y,
      'stroke-width': (1 + 1.5 * Math.log2(e.weight)).toFixed(2), 'data-weight': e.weight });
    const who = `@${net.nodes[e.a].handle} – @${net.nodes[e.b].handle}`;
    line.append(el('svg:title', {}, `${who}: ${e.weight} shared item(s)`));
    line.addEventListener('click', () => select(line, e.items, `shared by ${who} (weight ${e.weight})`));
    edges.append(line);
  }
  const nodes = el('svg:g', { class: 'nodes' });
  net.nodes.forEach((nd, i) => {
    const c = el('svg:circle', { class: 'node' + (nd.in_alert ? '' : ' co-actor'), cx: pos[i].x, cy: pos[i].y, r: Math.min(5 + 2 * Math.sqrt(nd.tweets), 18).toFixed(1) });
    c.append(el('svg:title', {}, `@${nd.handle} (${nd.id}): ${nd.tweets} tweet(s)` + (nd.in_alert ? '' : ', not named by the alert: co-acted on its shared items')));
    const mine = net.items.map((it, j) => (it.accounts.includes(i) ? j : -1)).filter((j) => j >= 0);
    c.addEventListener('click', () => select(c, mine, `acted on by @${nd.handle}`));
    nodes.append(c, el('svg:text', { class: 'label', x: pos[i].x + 9, y: pos[i].y - 9 }, '@' + nd.handle));
  });
  svg.append(edges, nodes);
  $('graph').replaceChildren(svg);
}

function renderTweets(net) {
  const rows = net.list.map((t) => {
    const tr = el('tr', { class: 'tweet' + (t.in_alert ? ' in-alert' : '') });
    const kind = t.retweet_of ? 'retweet of ' + t.retweet_of : t.reply_to ? 'reply to ' + t.reply_to : (t.urls ? 'link' : 'post');
    tr.append(el('td', { class: 'time' }, fmtTime(t.time)), el('td', {}, '@' + net.nodes[t.node].handle),
      el('td', {}, kind), el('td', { class: 'item' }, t.text));
    return tr;
  });
  $('tweets').tBodies[0].replaceChildren(...rows);
}

async function main() {
  const id = new URLSearchParams(location.search).get('alert');
  if (!id) { $('status').textContent = 'No alert given: open this page from the alerts list.'; return; }
  $('status').textContent = 'loading…';
  try {
    const r = await fetch('/api/network?' + new URLSearchParams({ alert: id }));
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    renderAlert(body);
    renderGraph(body);
    renderItems(body, null);
    renderTweets(body);
    $('status').textContent = '';
  } catch (e) {
    $('status').textContent = 'error: ' + e.message;
  }
}

main();
