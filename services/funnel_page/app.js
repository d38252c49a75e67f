// The live funnel page: reads the query API (docs/api.md) from the browser
// and draws it, again every few seconds. Plain JavaScript, no libraries.
//
// URL:  /funnel?refresh=5&from=YYYY-MM-DD&to=YYYY-MM-DD&now=RFC3339&lang=ru
//       #token=VIEWER_TOKEN
//   refresh  seconds between refreshes (default 5; 0: never)
//   from/to  the period of geometry, conversion and indicators (the API's
//            default without them: the 30 days up to today)
//   now      "now" for time in stage and queue waits (default: the server's)
//   lang     the locale numbers, money and dates are written in (default:
//            the browser's)
//   token    a viewer token, sent as "Authorization: Bearer"; the fragment
//            never leaves the browser
//
// Every number shown carries data-k, a stable key such as
// "queue.sales.length", and data-v, the value as the API gave it (money in
// minor units); tests/funnel_page_test.cc reads them back. Nothing from the
// API is ever parsed as HTML: the DOM is built with createElement.
'use strict';

(() => {
  const params = new URLSearchParams(location.search);
  const LOCALE = params.get('lang') || undefined;
  const REFRESH_S = parseRefresh(params.get('refresh'));
  const FROM = params.get('from') || '';
  const TO = params.get('to') || '';
  const NOW = params.get('now') || '';
  const SVG_NS = 'http://www.w3.org/2000/svg';

  let timer = 0;
  let generation = 0;  // Of the latest refresh.
  let lastGood = null;  // Date of the last complete refresh.

  function parseRefresh(v) {
    if (v === null || v === '') return 5;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) return 5;
    return n === 0 ? 0 : Math.min(Math.max(n, 1), 3600);
  }

  function token() {
    return new URLSearchParams(location.hash.slice(1)).get('token') || '';
  }

  // ---- The API ------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, detail, path) {
      super(detail);
      this.status = status;  // 0: no answer.
      this.path = path;
    }
  }

  async function api(path, query) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query || {})) {
      if (v !== '' && v !== undefined && v !== null) qs.set(k, v);
    }
    const url = path + (qs.toString() ? '?' + qs : '');
    const headers = {Accept: 'application/json'};
    const t = token();
    if (t) headers.Authorization = 'Bearer ' + t;
    let r;
    try {
      r = await fetch(url, {headers, cache: 'no-store'});
    } catch (e) {
      throw new ApiError(0, 'the server did not answer', path);
    }
    let body = null;
    try {
      body = await r.json();
    } catch (e) {
      body = null;
    }
    if (!r.ok) {
      throw new ApiError(r.status, (body && body.detail) || r.statusText, path);
    }
    return body;
  }

  // {ok: true, value} or {ok: false, error}: one failed call must not hide
  // the sections that did load.
  function settle(promise) {
    return promise.then((value) => ({ok: true, value}),
                        (error) => ({ok: false, error}));
  }

  // ---- Formatting ---------------------------------------------------------

  const intFormat = new Intl.NumberFormat(LOCALE);
  const ratioFormat = new Intl.NumberFormat(LOCALE, {maximumFractionDigits: 2});
  const pctFormat = new Intl.NumberFormat(
      LOCALE, {style: 'percent', minimumFractionDigits: 1,
               maximumFractionDigits: 1});
  const moneyFormats = new Map();

  function fmtInt(n) { return intFormat.format(n); }

  function moneyFormat(currency) {
    if (!moneyFormats.has(currency)) {
      let f;
      try {
        f = new Intl.NumberFormat(LOCALE, {style: 'currency', currency});
      } catch (e) {  // Not a currency this browser knows: two digits.
        f = new Intl.NumberFormat(LOCALE, {minimumFractionDigits: 2,
                                           maximumFractionDigits: 2});
        f.unknownCurrency = true;
      }
      moneyFormats.set(currency, f);
    }
    return moneyFormats.get(currency);
  }

  // Minor units to text, exactly: the decimal string is built from the
  // integer, never through a floating-point division.
  function fmtMoney(minor, currency) {
    const f = moneyFormat(currency);
    const digits = f.resolvedOptions().maximumFractionDigits;
    const negative = minor < 0;
    let s = String(Math.abs(minor)).padStart(digits + 1, '0');
    if (digits > 0) s = s.slice(0, -digits) + '.' + s.slice(-digits);
    const text = f.format((negative ? '-' : '') + s);
    return f.unknownCurrency ? currency + ' ' + text : text;
  }

  function fmtRate(r) { return r === null ? '—' : pctFormat.format(r); }

  function fmtDuration(s) {
    if (s === null || s === undefined) return '—';
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    if (d > 0) return h > 0 ? `${d} d ${h} h` : `${d} d`;
    if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
    if (m > 0) return `${m} min`;
    return `${Math.max(0, Math.round(s))} s`;
  }

  function fmtDay(day) {  // "2026-11-01" -> "1 Nov 2026"
    const t = new Date(day + 'T00:00:00Z');
    if (isNaN(t)) return day;
    return t.toLocaleDateString(LOCALE, {timeZone: 'UTC', day: 'numeric',
                                         month: 'short', year: 'numeric'});
  }

  function fmtTime(rfc3339) {
    const t = new Date(rfc3339);
    if (isNaN(t)) return rfc3339;
    return t.toLocaleString(LOCALE, {day: 'numeric', month: 'short',
                                     hour: '2-digit', minute: '2-digit'});
  }

  // "lead_generation" -> "Lead generation"
  function label(name) {
    if (name === null || name === undefined) return 'unassigned';
    const s = String(name).replace(/_/g, ' ');
    return s.charAt(0).toUpperCase() + s.slice(1);
  }

  // ---- DOM ----------------------------------------------------------------

  function build(ns, tag, attrs, children) {
    const el = ns ? document.createElementNS(ns, tag)
                  : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'k') el.setAttribute('data-k', v);
      else if (k === 'v') el.setAttribute('data-v', String(v));
      else if (k === 'class') el.setAttribute('class', v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  const h = (tag, attrs, ...children) => build(null, tag, attrs, children);
  const svg = (tag, attrs, ...children) => build(SVG_NS, tag, attrs, children);

  // A number with its key and raw value.
  function num(k, v, text, cls) {
    return h('span', {class: cls || 'num', k, v: v === null ? '' : v}, text);
  }

  // Currencies in the order the page lists them: the most used first (as
  // counted by rankCurrencies), then by code.
  let currencyUse = new Map();
  function rankCurrencies(maps) {
    currencyUse = new Map();
    for (const m of maps) {
      for (const c of Object.keys(m || {})) {
        currencyUse.set(c, (currencyUse.get(c) || 0) + 1);
      }
    }
  }
  function currencies(...maps) {
    const all = new Set();
    for (const m of maps) for (const c of Object.keys(m || {})) all.add(c);
    return [...all].sort((a, b) =>
        (currencyUse.get(b) || 0) - (currencyUse.get(a) || 0) ||
        (a < b ? -1 : a > b ? 1 : 0));
  }

  // One line per currency, keyed prefix.CUR; a dash when there is none.
  function money(prefix, amounts, cls) {
    const currencies_ = currencies(amounts);
    if (currencies_.length === 0) return h('span', {class: 'muted'}, '—');
    return h('span', {class: 'money ' + (cls || '')},
             currencies_.map((c) => h('span', {class: 'amount',
                                              k: prefix + '.' + c,
                                              v: amounts[c]},
                                     fmtMoney(amounts[c], c))));
  }

  function addMoney(into, amounts) {
    for (const [c, v] of Object.entries(amounts || {})) {
      into[c] = (into[c] || 0) + v;
    }
    return into;
  }

  function note(text, cls) {
    return h('div', {class: 'note ' + (cls || '')}, text);
  }

  // What a failed call means for its section.
  function failure(result) {
    const e = result.error;
    if (e.status === 404) return note(e.message, 'muted');
    if (e.status === 503) return note('Starting: ' + e.message, 'warn');
    return note((e.status ? `${e.status}: ` : '') + e.message, 'bad');
  }

  // ---- Sections -----------------------------------------------------------

  function kpi(title, value, sub, cls) {
    return h('div', {class: 'kpi ' + (cls || '')},
             h('div', {class: 'kpi-title'}, title),
             h('div', {class: 'kpi-value'}, value),
             h('div', {class: 'kpi-sub'}, sub));
  }

  function renderKpis(r) {
    const tiles = [];
    if (r.stages.ok) {
      let open = 0;
      for (const s of r.stages.value.stages) open += s.open;
      tiles.push(kpi('Open deals', num('kpi.open_deals', open, fmtInt(open)),
                     'in the funnels now'));
    }
    if (r.forecastFunnel.ok) {
      const total = {};
      for (const f of r.forecastFunnel.value.forecast) {
        addMoney(total, f.forecast);
      }
      tiles.push(kpi('Forecast', money('forecast.total', total),
                     'open deals × stage probability'));
    }
    if (r.queues.ok) {
      let queued = 0;
      for (const q of r.queues.value.queues) queued += q.length;
      tiles.push(kpi('Waiting for a claim',
                     num('kpi.queued', queued, fmtInt(queued)),
                     'deals in handoff queues', queued > 0 ? 'attention' : ''));
    }
    if (r.total.ok && r.total.value.periods.length > 0) {
      const t = r.total.value.periods[0];
      tiles.push(kpi('Calls', num('kpi.calls', t.calls, fmtInt(t.calls)),
                     [num('kpi.calls_per_org', t.calls_per_org,
                          ratioFormat.format(t.calls_per_org), 'inline'),
                      ' per organisation called']));
      tiles.push(kpi('Applications',
                     num('kpi.applications', t.applications,
                         fmtInt(t.applications)),
                     money('kpi.applications_amount', t.applications_amount)));
    }
    document.getElementById('kpis').replaceChildren(...tiles);
  }

  // A stage's kind, from what the API says of it: deals sit in a stage but
  // none is open only in a closed stage (in any other stage a deal is open
  // by definition); a closed stage that every deal reaching it won is a won
  // stage, one that none won a lost stage. Unknown (no deals yet): drawn as
  // an open stage.
  function stageKinds(workloads, conversion) {
    const kinds = {};
    for (const w of workloads || []) {
      if (!(w.deals > 0 && w.open === 0)) continue;
      const c = conversion && conversion.find((x) => x.stage === w.stage);
      if (c && c.to_won_rate === 1) kinds[w.stage] = 'won';
      else if (c && c.to_won_rate === 0) kinds[w.stage] = 'lost';
      else kinds[w.stage] = 'closed';
    }
    return kinds;
  }

  const PALETTE = [[67, 56, 202], [37, 99, 235], [14, 165, 233]];
  function shade(i, n) {  // Indigo -> blue -> sky down the funnel.
    const t = n <= 1 ? 0 : i / (n - 1);
    const seg = t < 0.5 ? 0 : 1;
    const u = t < 0.5 ? t * 2 : (t - 0.5) * 2;
    const a = PALETTE[seg];
    const b = PALETTE[seg + 1];
    const c = a.map((x, j) => Math.round(x + (b[j] - x) * u));
    return `rgb(${c[0]},${c[1]},${c[2]})`;
  }
  const KIND_FILL = {won: '#10b981', lost: '#c3c8d4', closed: '#94a3b8'};

  // The funnel's geometry as centred bars, with the share of each stage's
  // cohort that moved on to the next stage between them. Lost stages come
  // after a dashed line, in grey: they are where deals leave the funnel.
  function funnelChart(name, stages, conversion, kinds) {
    const W = 460;
    const rowH = 28;
    const gap = 12;
    const lostGap = 22;
    const left = 104;
    const right = 70;
    const area = W - left - right;
    const n = stages.length;
    const max = Math.max(1, ...stages.map((s) => s.reached));
    const cx = left + area / 2;
    const widths = stages.map((s) =>
        s.reached > 0 ? Math.max(4, area * s.reached / max) : 0);
    const lost = stages.map((s) => kinds[s.stage] === 'lost');
    const ys = [];
    let y = 2;
    for (let i = 0; i < n; ++i) {
      if (i > 0) y += lost[i] && !lost[i - 1] ? lostGap : gap;
      ys.push(y);
      y += rowH;
    }
    const H = y + 2;
    const out = svg('svg', {class: 'chart', viewBox: `0 0 ${W} ${H}`,
                            width: W, height: H, role: 'img',
                            'aria-label': `${label(name)} funnel`});
    const openStages = stages.filter((s, i) => !lost[i]).length;
    let shadeIndex = 0;
    stages.forEach((s, i) => {
      const y0 = ys[i];
      const w = widths[i];
      const kind = kinds[s.stage];
      const next = i + 1 < n && !lost[i] && !lost[i + 1];
      if (next) {  // The neck down to the next bar.
        const w2 = widths[i + 1];
        const y1 = y0 + rowH;
        const y2 = ys[i + 1];
        out.append(svg('polygon', {
          class: 'neck',
          points: `${cx - w / 2},${y1} ${cx + w / 2},${y1} ` +
                  `${cx + w2 / 2},${y2} ${cx - w2 / 2},${y2}`,
        }));
      }
      if (lost[i] && i > 0 && !lost[i - 1]) {
        out.append(svg('line', {class: 'split', x1: 8, x2: W - 8,
                                y1: y0 - lostGap / 2, y2: y0 - lostGap / 2}));
      }
      const fill = KIND_FILL[kind] || shade(shadeIndex, openStages);
      if (!lost[i]) ++shadeIndex;
      out.append(svg('rect', {x: cx - w / 2, y: y0, width: w, height: rowH,
                              rx: 5, fill}));
      out.append(svg('text', {x: left - 10, y: y0 + rowH / 2,
                              class: 'stage ' + (kind || 'open'),
                              'text-anchor': 'end',
                              'dominant-baseline': 'central'},
                     label(s.stage)));
      const inside = w > 56 && kind !== 'lost';
      out.append(svg('text', {
        x: inside ? cx : cx + w / 2 + 6, y: y0 + rowH / 2,
        class: inside ? 'count inside' : 'count',
        'text-anchor': inside ? 'middle' : 'start',
        'dominant-baseline': 'central',
        k: `geometry.${name}.${s.stage}.reached`, v: s.reached,
      }, fmtInt(s.reached)));
      const c = conversion && conversion.find((x) => x.stage === s.stage);
      if (c && next && !kind) {
        out.append(svg('text', {
          x: W - 4, y: (y0 + rowH + ys[i + 1]) / 2, class: 'rate',
          'text-anchor': 'end', 'dominant-baseline': 'central',
          k: `conversion.${name}.${s.stage}.to_next_rate`,
          v: c.to_next_rate === null ? '' : c.to_next_rate,
        }, c.to_next_rate === null ? '—' : '↓ ' + fmtRate(c.to_next_rate)));
      }
    });
    return out;
  }

  function stageTable(name, stages, conversion, kinds) {
    const th = (text, title) => h('th', {class: 'r', title}, text);
    const head = h('tr', null, h('th', null, 'Stage'),
                   th('Open'),
                   th('In stage', 'deals in the stage now, closed ones ' +
                                  'included'),
                   th('Avg time in stage', 'open deals, since they entered'),
                   th('Amount', 'expected amount of the deals in the stage'),
                   th('Forecast', 'open deals: amount × stage probability'),
                   th('Won', 'of the deals that reached the stage in the ' +
                             'period'),
                   th('Avg to next', 'time to the next stage, of the deals ' +
                                     'that moved on'));
    const rows = stages.map((s) => {
      const p = `stage.${name}.${s.stage}`;
      const c = conversion && conversion.find((x) => x.stage === s.stage);
      const kind = kinds[s.stage];
      const conv = (field, format) => c
          ? num(`conversion.${name}.${s.stage}.${field}`, c[field],
                format(c[field]))
          : h('span', {class: 'muted'}, '—');
      return h('tr', {class: kind ? 'closed ' + kind : ''},
               h('td', null, label(s.stage),
                 kind === 'won' || kind === 'lost'
                     ? h('span', {class: 'tag ' + kind}, kind) : null),
               h('td', {class: 'r strong'},
                 num(p + '.open', s.open, fmtInt(s.open))),
               h('td', {class: 'r'}, num(p + '.deals', s.deals, fmtInt(s.deals))),
               h('td', {class: 'r'},
                 num(p + '.avg_time_in_stage_s', s.avg_time_in_stage_s,
                     fmtDuration(s.avg_time_in_stage_s))),
               h('td', {class: 'r'}, money(p + '.amount', s.amount)),
               h('td', {class: 'r'}, money(p + '.forecast', s.forecast)),
               h('td', {class: 'r'}, conv('to_won_rate', fmtRate)),
               h('td', {class: 'r'}, conv('avg_time_to_next_s', fmtDuration)));
    });
    return h('table', {class: 'grid stages'}, h('thead', null, head),
             h('tbody', null, rows));
  }

  function renderFunnels(r) {
    const box = document.getElementById('funnels');
    if (!r.geometry.ok && !r.stages.ok) {
      box.replaceChildren(failure(r.geometry));
      return;
    }
    const names = r.geometry.ok
        ? r.geometry.value.funnels.map((f) => f.funnel)
        : [...new Set(r.stages.value.stages.map((s) => s.funnel))];
    const cards = names.map((name) => {
      const geometry = r.geometry.ok &&
          r.geometry.value.funnels.find((f) => f.funnel === name);
      const conversion = r.conversion.ok &&
          r.conversion.value.funnels.find((f) => f.funnel === name);
      const stages = conversion && conversion.stages;
      const workloads = r.stages.ok
          ? r.stages.value.stages.filter((s) => s.funnel === name) : null;
      const kinds = stageKinds(workloads, stages);
      let open = 0;
      for (const w of workloads || []) open += w.open;
      const sub = [];
      if (geometry && geometry.stages.length > 0) {
        sub.push(fmtInt(geometry.stages[0].reached), ' entered in the period');
      }
      if (workloads) {
        sub.push(sub.length ? ' · ' : '', fmtInt(open), ' open now');
      }
      return h('article', {class: 'card funnel', 'data-funnel': name},
               h('header', null, h('h3', null, label(name)),
                 h('span', {class: 'sub'}, sub)),
               h('div', {class: 'funnel-body'},
                 geometry ? funnelChart(name, geometry.stages, stages, kinds)
                          : failure(r.geometry),
                 workloads ? stageTable(name, workloads, stages, kinds)
                           : failure(r.stages)));
    });
    box.replaceChildren(...cards);
  }

  function renderQueues(r) {
    const box = document.getElementById('queues');
    if (!r.queues.ok) {
      box.replaceChildren(failure(r.queues));
      return;
    }
    const tiles = r.queues.value.queues.map((q) => {
      const d = q.department;
      const head = r.heads[d];
      let detail;
      let level = 'calm';
      if (q.length === 0) {
        detail = h('div', {class: 'wait muted'}, 'nobody waiting');
      } else if (head && head.ok && head.value.deals.length > 0) {
        const oldest = head.value.deals[0];
        level = oldest.wait_s >= 3 * 86400 ? 'bad'
              : oldest.wait_s >= 86400 ? 'warn' : 'calm';
        detail = h('div', {class: 'wait'},
                   'oldest waits ',
                   num(`queue.${d}.oldest_wait_s`, oldest.wait_s,
                       fmtDuration(oldest.wait_s), 'strong'),
                   h('div', {class: 'muted small'},
                     h('span', {k: `queue.${d}.oldest_deal`, v: oldest.deal},
                       oldest.deal),
                     ` · ${label(oldest.reason).toLowerCase()} · since `,
                     fmtTime(oldest.since)));
      } else if (head && !head.ok) {
        detail = failure(head);
      }
      return h('div', {class: `queue ${level}`},
               h('div', {class: 'queue-name'}, label(d)),
               h('div', {class: 'queue-length'},
                 num(`queue.${d}.length`, q.length, fmtInt(q.length)),
                 h('span', {class: 'unit'}, q.length === 1 ? ' deal' : ' deals')),
               detail);
    });
    box.replaceChildren(...tiles);
  }

  // One row per funnel or department, one column per currency.
  function renderForecast(r) {
    const groups = [['funnel', 'By funnel', r.forecastFunnel],
                    ['department', 'By department', r.forecastDepartment]];
    const maps = [];
    for (const [, , result] of groups) {
      if (result.ok) maps.push(...result.value.forecast.map((f) => f.forecast));
    }
    const columns = currencies(...maps);
    const body = [];
    for (const [kind, title, result] of groups) {
      body.push(h('tr', {class: 'group'}, h('th', null, title),
                  columns.map((c) => h('th', {class: 'r'}, c))));
      if (!result.ok) {
        body.push(h('tr', null, h('td', {colspan: columns.length + 1},
                                  failure(result))));
        continue;
      }
      if (result.value.forecast.length === 0) {
        body.push(h('tr', null, h('td', {colspan: columns.length + 1,
                                         class: 'muted'}, 'no open deals')));
      }
      for (const f of result.value.forecast) {
        const name = f[kind];
        const key = `forecast.${kind}.${name === null ? '-' : name}`;
        body.push(h('tr', null, h('td', null, label(name)),
                    columns.map((c) => h('td', {class: 'r'},
                        c in f.forecast
                            ? h('span', {class: 'amount', k: `${key}.${c}`,
                                         v: f.forecast[c]},
                                fmtMoney(f.forecast[c], c))
                            : h('span', {class: 'muted'}, '—')))));
      }
    }
    document.getElementById('forecast').replaceChildren(
        h('table', {class: 'grid'}, h('tbody', null, body)));
  }

  // Calls per period as small bars, the busiest period full height.
  function sparkline(periods) {
    const W = 132;
    const H = 26;
    const values = periods.map((p) => p.calls);
    const out = svg('svg', {class: 'spark', viewBox: `0 0 ${W} ${H}`,
                            width: W, height: H, 'aria-hidden': 'true'});
    if (values.length === 0) return out;
    const max = Math.max(1, ...values);
    const step = W / values.length;
    const bar = Math.max(1, step * 0.72);
    values.forEach((v, i) => {
      const bh = v > 0 ? Math.max(1.5, (H - 2) * v / max) : 0.75;
      out.append(svg('rect', {class: v > 0 ? 'spark-bar' : 'spark-none',
                              x: (i * step + (step - bar) / 2).toFixed(2),
                              y: (H - bh).toFixed(2), width: bar.toFixed(2),
                              height: bh.toFixed(2)},
                     svg('title', null, `${periods[i].from}: ${fmtInt(v)}`)));
    });
    return out;
  }

  const INDICATORS = [
    ['calls', 'Calls', fmtInt],
    ['calls_answered', 'Answered', fmtInt],
    ['calls_per_org', 'Calls / org', (v) => ratioFormat.format(v)],
    ['proposals_general', 'Proposals', fmtInt],
    ['applications', 'Applications', fmtInt],
  ];

  function indicatorRow(id, name, result, daily, cls) {
    const cells = [h('td', null, name)];
    if (!result || !result.ok) {
      cells.push(h('td', {colspan: INDICATORS.length + 4},
                   result ? failure(result) : ''));
      return h('tr', {class: cls}, cells);
    }
    const t = result.value.periods[0];
    for (const [field, , format] of INDICATORS) {
      cells.push(h('td', {class: 'r'},
                   num(`indicators.${id}.${field}`, t[field], format(t[field]))));
    }
    cells.push(h('td', {class: 'r'},
                 money(`indicators.${id}.applications_amount`,
                       t.applications_amount)));
    cells.push(h('td', {class: 'r'},
                 num(`indicators.${id}.deals_won`, t.deals_won,
                     fmtInt(t.deals_won)),
                 h('span', {class: 'muted'}, ' / '),
                 num(`indicators.${id}.deals_lost`, t.deals_lost,
                     fmtInt(t.deals_lost))));
    cells.push(h('td', {class: 'r'},
                 daily && daily.ok ? sparkline(daily.value.periods) : ''));
    return h('tr', {class: cls}, cells);
  }

  function renderIndicators(r) {
    const box = document.getElementById('indicators');
    if (!r.total.ok) {
      box.replaceChildren(failure(r.total));
      return;
    }
    const head = h('tr', null, h('th', null, 'Department'),
                   INDICATORS.map(([, title]) => h('th', {class: 'r'}, title)),
                   h('th', {class: 'r'}, 'Applications amount'),
                   h('th', {class: 'r'}, 'Won / lost'),
                   h('th', {class: 'r'}, `Calls per ${r.dailyGroup}`));
    const rows = r.departments.map((d) =>
        indicatorRow(d, label(d), r.byDepartment[d], r.dailyByDepartment[d]));
    rows.push(indicatorRow('total', 'All departments', r.total, r.totalDaily,
                           'total'));
    box.replaceChildren(h('table', {class: 'grid indicators'},
                          h('thead', null, head), h('tbody', null, rows)));
  }

  function renderPeriod(r) {
    const range = r.total.ok ? r.total.value
                : r.geometry.ok ? r.geometry.value : null;
    const form = document.getElementById('range');
    if (range) {
      if (!form.from.value) form.from.value = range.from;
      if (!form.to.value) form.to.value = range.to;
    }
    const parts = [];
    if (range) {
      parts.push('Period ',
                 h('span', {k: 'range.from', v: range.from}, fmtDay(range.from)),
                 ' – ',
                 h('span', {k: 'range.to', v: range.to}, fmtDay(range.to)));
      if (range.timezone) parts.push(` (${range.timezone})`);
    }
    if (r.stages.ok) {
      parts.push(' · stages as of ',
                 h('span', {k: 'now', v: r.stages.value.now},
                   fmtTime(r.stages.value.now)));
    }
    return parts;
  }

  // ---- Refresh ------------------------------------------------------------

  function days(from, to) {
    return (Date.parse(to + 'T00:00:00Z') - Date.parse(from + 'T00:00:00Z')) /
           86400000 + 1;
  }

  async function load() {
    const range = {from: FROM, to: TO};
    const [queues, geometry, conversion, stages, forecastFunnel,
           forecastDepartment, total] = await Promise.all([
      settle(api('/v1/queues')),
      settle(api('/v1/geometry', range)),
      settle(api('/v1/conversion', range)),
      settle(api('/v1/stages', {now: NOW})),
      settle(api('/v1/forecast', {group: 'funnel'})),
      settle(api('/v1/forecast', {group: 'department'})),
      settle(api('/v1/indicators', {scope: 'total', ...range})),
    ]);
    const r = {queues, geometry, conversion, stages, forecastFunnel,
               forecastDepartment, total, heads: {}, byDepartment: {},
               dailyByDepartment: {}, departments: [], dailyGroup: 'day'};
    // The departments are the queues' (every configured one is listed).
    r.departments = queues.ok ? queues.value.queues.map((q) => q.department)
                              : [];
    // The departments' calls over the period the total was read for (the
    // API's default period, when the URL gives none, moves at midnight).
    const period = total.ok ? {from: total.value.from, to: total.value.to}
                            : range;
    const span = days(period.from || '', period.to || '') || 30;
    r.dailyGroup = span <= 62 ? 'day' : span <= 400 ? 'week' : 'month';
    const daily = {...period, group: r.dailyGroup};
    const more = [];
    const later = (promise, put) => more.push(settle(promise).then(put));
    if (queues.ok) {
      for (const q of queues.value.queues) {
        if (q.length === 0) continue;
        later(api('/v1/queues/' + encodeURIComponent(q.department),
                  {limit: 1, now: NOW}),
              (x) => { r.heads[q.department] = x; });
      }
    }
    if (total.ok) {
      later(api('/v1/indicators', {scope: 'total', ...daily}),
            (x) => { r.totalDaily = x; });
      for (const d of r.departments) {
        later(api('/v1/indicators', {scope: 'department', id: d, ...period}),
              (x) => { r.byDepartment[d] = x; });
        later(api('/v1/indicators', {scope: 'department', id: d, ...daily}),
              (x) => { r.dailyByDepartment[d] = x; });
      }
    }
    await Promise.all(more);
    return r;
  }

  function errors(r) {
    const all = [r.queues, r.geometry, r.conversion, r.stages,
                 r.forecastFunnel, r.forecastDepartment, r.total,
                 ...Object.values(r.heads), ...Object.values(r.byDepartment)];
    return all.filter((x) => !x.ok).map((x) => x.error);
  }

  function setStatus(state, text) {
    const pill = document.getElementById('status');
    pill.dataset.state = state;
    pill.dataset.v = state;
    pill.textContent = text;
  }

  function showAlert(state, lines) {
    const alert = document.getElementById('alert');
    if (!state) {
      alert.hidden = true;
      alert.replaceChildren();
      return;
    }
    alert.hidden = false;
    alert.dataset.state = state;
    alert.replaceChildren(...lines.map((l, i) => h(i === 0 ? 'strong' : 'p',
                                                   null, l)));
  }

  function refreshedText() {
    const every = REFRESH_S > 0 ? `every ${REFRESH_S} s` : 'auto-refresh off';
    const at = lastGood
        ? h('span', {k: 'refreshed', v: lastGood.toISOString()},
            'updated ', lastGood.toLocaleTimeString(LOCALE))
        : 'not loaded yet';
    return [at, ' · ', every];
  }

  async function refresh() {
    clearTimeout(timer);
    const mine = ++generation;
    let r;
    try {
      r = await load();
    } finally {
      // A newer refresh (the token changed) took over, with its own timer.
      if (mine === generation && REFRESH_S > 0) {
        timer = setTimeout(refresh, REFRESH_S * 1000);
      }
    }
    if (mine !== generation) return;
    const errs = errors(r);
    const status = (s) => errs.find((e) => e.status === s);
    const main = document.getElementById('main');
    const refreshed = document.getElementById('refreshed');
    if (status(401) || status(403)) {
      main.hidden = true;
      const e = status(401) || status(403);
      const given = token() !== '';
      if (e.status === 403) {
        setStatus('forbidden', 'No access');
        showAlert('forbidden', [
          'This token may not read the funnel (403).',
          'The page needs a token with the viewer role: voronka token add ' +
              '--file tokens.yaml --name NAME --roles viewer.',
          e.message]);
      } else {
        setStatus('auth', 'Sign-in needed');
        showAlert('auth', given ? [
          'The token in the address was not accepted (401).',
          'Check it, or make a new one with voronka token add --roles viewer.',
          e.message] : [
          'This page needs a viewer token (401).',
          'Open it as ' + location.origin + location.pathname +
              location.search + '#token=YOUR_VIEWER_TOKEN; the token stays ' +
              'in your browser (the part after # is never sent to the server).',
          'An administrator makes one with: voronka token add --file ' +
              'tokens.yaml --name NAME --roles viewer']);
      }
      refreshed.replaceChildren(...refreshedText());
      return;
    }
    main.hidden = false;
    const unavailable = status(503);
    rankCurrencies([
      ...(r.stages.ok ? r.stages.value.stages.map((x) => x.amount) : []),
      ...(r.total.ok ? r.total.value.periods.map((p) => p.applications_amount)
                     : []),
    ]);
    const unreachable = status(0);
    renderKpis(r);
    renderFunnels(r);
    renderQueues(r);
    renderForecast(r);
    renderIndicators(r);
    document.getElementById('period').replaceChildren(...renderPeriod(r));
    if (unreachable) {
      setStatus('error', 'Offline');
      showAlert('error', ['The server does not answer.',
                          'Retrying' + (REFRESH_S > 0 ? ` every ${REFRESH_S} s` : '') +
                              '; the numbers shown may be old.']);
    } else if (unavailable) {
      setStatus('starting', 'Starting');
      showAlert('starting', [
        'The read models are not open yet (503): their projectors are ' +
            'starting or catching up.',
        'The page retries' + (REFRESH_S > 0 ? ` every ${REFRESH_S} s` : '') +
            '. ' + unavailable.message]);
    } else {
      const bad = errs.filter((e) => e.status !== 404);
      lastGood = new Date();
      setStatus(bad.length ? 'error' : 'ok', bad.length ? 'Partly loaded' : 'Live');
      showAlert(bad.length ? 'error' : null,
                bad.length ? ['Some numbers could not be read.',
                              ...bad.map((e) => `${e.path}: ${e.status} ${e.message}`)]
                           : []);
    }
    refreshed.replaceChildren(...refreshedText());
  }

  function init() {
    const form = document.getElementById('range');
    form.from.value = FROM;
    form.to.value = TO;
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const p = new URLSearchParams(location.search);
      for (const name of ['from', 'to']) {
        if (form[name].value) p.set(name, form[name].value);
        else p.delete(name);
      }
      location.assign(location.pathname + '?' + p + location.hash);
    });
    window.addEventListener('hashchange', refresh);
    refresh();
  }

  init();
})();
