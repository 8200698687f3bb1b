// The dashboard's page logic: filters over the mart counts embedded in the page, re-aggregated and
// divided exactly as docs/metrics.md defines each rate, drawn with Vega-Lite (inlined, no network).
// The data is gzip-compressed JSON in base64 (a third of the size), inflated by the browser itself.
async function wpLoadData() {
  "use strict";
  const text = document.getElementById("wp-data").textContent.trim();
  const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return JSON.parse(await new Response(stream).text());
}

wpLoadData().then((D) => {
  "use strict";
  const S = D.settings;
  const DAY_MS = 86400000;
  const Z95 = 1.959963984540054;
  const $ = (id) => document.getElementById(id);
  const int = new Intl.NumberFormat("en-US");
  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (c) => (
    { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const fmtInt = (n) => (n == null ? "—" : int.format(n));
  const fmtPct = (r) => (r == null ? "—" : (100 * r).toFixed(1) + " %");
  const isoDay = (d) => new Date(d * DAY_MS).toISOString().slice(0, 10);
  const dayOf = (iso) => (iso ? Math.round(Date.parse(iso + "T00:00:00Z") / DAY_MS) : null);

  // --- statistics (the same as pipelines/dashboard/stats.py) -------------------------------------
  function wilson(x, n) {
    if (!(n > 0)) return null;
    const p = x / n, z2 = Z95 * Z95;
    const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
    const half = (Z95 * Math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))) / (1 + z2 / n);
    return [Math.max(0, centre - half), Math.min(1, centre + half)];
  }
  function erfc(x) { // Numerical Recipes erfc, relative error < 1.2e-7
    const t = 1 / (1 + 0.5 * Math.abs(x));
    const y = t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
      t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 +
      t * 0.17087277)))))))));
    return x >= 0 ? y : 2 - y;
  }
  function twoProportionP(x1, n1, x2, n2) {
    if (!(n1 > 0 && n2 > 0)) return null;
    const pooled = (x1 + x2) / (n1 + n2);
    const variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2);
    if (!(variance > 0)) return null;
    return erfc(Math.abs((x1 / n1 - x2 / n2) / Math.sqrt(variance)) / Math.SQRT2);
  }
  window.wpStats = { wilson, twoProportionP }; // read by the tests, which compare them with stats.py

  // --- the rates of docs/metrics.md, from summed counts ---------------------------------------------
  const ratio = (num, den) => (den > 0 ? num / den : null);
  const RATES = {
    reply_rate: (t) => [t.replied, t.contacted - t.bounced],
    positive_reply_rate: (t) => [t.positive_replies, t.replied],
    bounce_rate: (t) => [t.bounced, t.contacted],
  };
  const rate = (name, t) => ratio(...RATES[name](t));
  const interval = (name, t) => wilson(...RATES[name](t));
  const COUNTS = ["enrolled", "contacted", "emails_sent", "unique_opened_or_clicked", "replied", "bounced",
    "interested", "positive_replies"];
  const zero = (names) => Object.fromEntries(names.map((n) => [n, 0]));

  // --- filters ----------------------------------------------------------------------------------
  const state = { from: null, to: null, campaigns: new Set(), statuses: new Set(), mailboxes: new Set(),
    grain: "week", events: false, sortKey: "replied", sortDir: -1 };
  const C = D.campaigns || { id: [], name: [], status: [] };
  const cells = D.cells || { c: [], m: [], d: [] };
  let lastDay = -Infinity; // the latest day with data: presets count back from it, not from the clock
  for (const d of cells.d) if (d !== null && d > lastDay) lastDay = d;
  for (const d of (D.daily ? D.daily.d : [])) if (d > lastDay) lastDay = d;

  function campaignOk(ci) {
    return (state.campaigns.size === 0 || state.campaigns.has(ci)) &&
      (state.statuses.size === 0 || state.statuses.has(C.status[ci]));
  }
  const mailboxOk = (mi) => state.mailboxes.size === 0 || state.mailboxes.has(mi);
  function dayOk(d, from, to) {
    if (from === null && to === null) return true;
    return d !== null && (from === null || d >= from) && (to === null || d <= to);
  }
  // Sums over the rows of a cell table that pass the filters, per key column ("c", "m" or "k"). The
  // columns are copied once into typed arrays; sums of integer counts stay exact in doubles.
  const NODAY = -2147483648;
  function columnar(table, names) {
    const n = table.c.length;
    table._n = n;
    for (const key of ["c", "m", "k"]) {
      if (!table[key]) continue;
      table["_" + key] = Int32Array.from(table[key]);
      table["_max_" + key] = table[key].reduce((a, b) => Math.max(a, b), -1);
    }
    table._d = Int32Array.from(table.d, (d) => (d === null ? NODAY : d));
    for (const name of names) table["_" + name] = Float64Array.from(table[name]);
  }
  function masks() {
    const campaigns = new Uint8Array(C.id.length);
    for (let i = 0; i < campaigns.length; i++) campaigns[i] = campaignOk(i) ? 1 : 0;
    const mailboxes = new Uint8Array(D.mailboxes.length + 1); // index 0: no mailbox
    for (let i = 0; i < mailboxes.length; i++) mailboxes[i] = mailboxOk(i - 1) ? 1 : 0;
    return { campaigns, mailboxes };
  }
  let mask = null;
  function sumCells(table, names, from, to, keyName) {
    const c = table._c, m = table._m, d = table._d, key = table["_" + keyName];
    const offset = keyName === "m" ? 1 : 0;
    const slots = table["_max_" + keyName] + offset + 1;
    const width = names.length;
    const cols = names.map((name) => table["_" + name]);
    const acc = new Float64Array(slots * width), seen = new Uint8Array(slots);
    const everyDay = from === null && to === null;
    const lo = from === null ? -Infinity : from, hi = to === null ? Infinity : to;
    const okC = mask.campaigns, okM = mask.mailboxes;
    for (let i = 0, n = table._n; i < n; i++) {
      if (!okC[c[i]] || !okM[m[i] + 1]) continue;
      if (!everyDay) { const day = d[i]; if (day === NODAY || day < lo || day > hi) continue; }
      const k = key[i] + offset, base = k * width;
      seen[k] = 1;
      for (let j = 0; j < width; j++) acc[base + j] += cols[j][i];
    }
    const out = new Map();
    for (let k = 0; k < slots; k++) {
      if (!seen[k]) continue;
      const sums = {};
      for (let j = 0; j < width; j++) sums[names[j]] = acc[k * width + j];
      out.set(k - offset, sums);
    }
    return out;
  }
  const total = (map, names) => {
    const t = zero(names);
    for (const acc of map.values()) for (const n of names) t[n] += acc[n];
    return t;
  };
  function previousPeriod() {
    if (state.from === null || state.to === null) return null;
    const len = state.to - state.from + 1;
    return [state.from - len, state.from - 1];
  }

  // --- header, filter controls ------------------------------------------------------------------
  function ageText(iso) {
    const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    if (s < 90) return "just now";
    if (s < 5400) return Math.round(s / 60) + " min ago";
    if (s < 129600) return Math.round(s / 3600) + " h ago";
    return Math.round(s / 86400) + " days ago";
  }
  function header() {
    $("source").textContent = D.source + " · generated " + D.generated_at.replace("T", " ").slice(0, 19) + " UTC";
    const f = D.freshness || { tables: [] };
    const last = f.last_load_at;
    const rows = f.tables.map(([t, n]) => `<tr><td>${esc(t)}</td><td data-table="${esc(t)}">${fmtInt(n)}</td></tr>`).join("");
    $("freshness").innerHTML = (last
      ? `Last successful load <span id="last-load">${esc(last.replace("T", " ").slice(0, 19))} UTC</span> · ` +
        `<span class="age" id="load-age">${ageText(last)}</span>`
      : `<span id="last-load">No load recorded in this database</span>`) +
      `<details><summary>Rows per table</summary><table id="row-counts">${rows}</table></details>`;
    if (last) setInterval(() => { $("load-age").textContent = ageText(last); }, 60000); // a wall screen stays open
    $("footer").textContent = "Built from the engagement marts of woodpecker-etl; every rate as defined in " +
      "docs/metrics.md. Intervals: 95 % Wilson. Campaigns with fewer than " + S.min_comparable +
      " delivered contacts are not comparable.";
  }
  function fillSelect(el, values, labels) {
    el.innerHTML = values.map((v, i) => `<option value="${esc(v)}">${esc(labels[i])}</option>`).join("");
  }
  function controls() {
    const order = C.id.map((_, i) => i).sort((a, b) => String(C.name[a]).localeCompare(String(C.name[b])));
    fillSelect($("f-campaign"), order.map((i) => C.id[i]), order.map((i) => C.name[i] || "#" + C.id[i]));
    const statuses = [...new Set(C.status.filter((s) => s != null))].sort();
    fillSelect($("f-status"), statuses, statuses);
    fillSelect($("f-mailbox"), D.mailboxes.map((_, i) => i), D.mailboxes);
    const idToIndex = new Map(C.id.map((id, i) => [String(id), i]));
    const selected = (el) => [...el.selectedOptions].map((o) => o.value);
    const on = (el, fn) => { el.addEventListener("change", fn); el.addEventListener("input", fn); };
    on($("f-campaign"), () => { state.campaigns = new Set(selected($("f-campaign")).map((v) => idToIndex.get(v))); update(); });
    on($("f-status"), () => { state.statuses = new Set(selected($("f-status"))); update(); });
    on($("f-mailbox"), () => { state.mailboxes = new Set(selected($("f-mailbox")).map(Number)); update(); });
    on($("f-from"), () => { state.from = dayOf($("f-from").value); update(); });
    on($("f-to"), () => { state.to = dayOf($("f-to").value); update(); });
    $("f-grain").addEventListener("change", () => { state.grain = $("f-grain").value; update(); });
    $("f-source").addEventListener("change", () => { state.events = $("f-source").value === "events"; update(); });
    $("source-toggle").hidden = !EVENT_SERIES.some((n) => D.daily[n].some((v) => v > 0));
    for (const b of $("presets").querySelectorAll("button")) {
      b.addEventListener("click", () => { lastDays(Number(b.dataset.days)); update(); });
    }
    $("f-clear").addEventListener("click", () => {
      for (const id of ["f-campaign", "f-status", "f-mailbox"]) for (const o of $(id).options) o.selected = false;
      $("f-from").value = ""; $("f-to").value = "";
      Object.assign(state, { from: null, to: null, campaigns: new Set(), statuses: new Set(), mailboxes: new Set() });
      update();
    });
  }
  function lastDays(n) { // the n days up to the latest day with data (0: all dates)
    state.from = n > 0 && isFinite(lastDay) ? lastDay - n + 1 : null;
    state.to = n > 0 && isFinite(lastDay) ? lastDay : null;
    $("f-from").value = state.from === null ? "" : isoDay(state.from);
    $("f-to").value = state.to === null ? "" : isoDay(state.to);
  }
  // A wall screen can pin its view in the address: dashboard.html#days=30&grain=day
  function fromAddress() {
    const params = new URLSearchParams(location.hash.slice(1));
    const days = Number(params.get("days"));
    if (Number.isInteger(days) && days > 0) lastDays(days);
    if (params.get("grain") === "day" || params.get("grain") === "week") state.grain = params.get("grain");
  }
  function inForce() {
    const names = [...state.campaigns].map((i) => C.name[i]);
    const parts = [
      state.from === null && state.to === null ? "all dates" :
        `${state.from === null ? "…" : isoDay(state.from)} to ${state.to === null ? "…" : isoDay(state.to)} ` +
        "(memberships by the day of their last activity)",
      names.length ? `campaigns: ${names.join(", ")}` : "all campaigns",
      state.statuses.size ? `status: ${[...state.statuses].join(", ")}` : "all statuses",
      state.mailboxes.size ? `mailboxes: ${[...state.mailboxes].map((i) => D.mailboxes[i]).join(", ")}` : "all mailboxes",
    ];
    $("in-force").textContent = "Filters in force: " + parts.join(" · ");
    for (const b of $("presets").querySelectorAll("button")) {
      const n = Number(b.dataset.days);
      b.classList.toggle("on", n === 0 ? state.from === null && state.to === null :
        state.to === lastDay && state.from === lastDay - n + 1);
    }
  }

  // --- KPI tiles --------------------------------------------------------------------------------
  const TILES = [
    ["reached", "Prospects reached", (t) => t.contacted, "count"],
    ["emails_sent", "Emails sent", (t) => t.emails_sent, "count"],
    ["reply_rate", "Reply rate", (t) => rate("reply_rate", t), "rate"],
    ["positive_reply_rate", "Positive-reply rate", (t) => rate("positive_reply_rate", t), "rate"],
    ["bounce_rate", "Bounce rate", (t) => rate("bounce_rate", t), "rate"],
    ["interested", "Interested", (t) => t.interested, "count"],
  ];
  function tiles(t, prev) {
    $("tiles").innerHTML = TILES.map(([key, label, value, kind]) => {
      const v = value(t);
      const ci = kind === "rate" ? interval(key, t) : null;
      let change = '<span class="flat">no previous period in the filter</span>';
      if (prev) {
        const p = value(prev);
        if (v == null || p == null) change = '<span class="flat">previous period: no data</span>';
        else {
          const diff = v - p;
          const cls = diff > 0 ? "up" : diff < 0 ? "down" : "flat";
          const text = kind === "rate" ? `${diff >= 0 ? "+" : "−"}${Math.abs(100 * diff).toFixed(1)} pp` :
            `${diff >= 0 ? "+" : "−"}${fmtInt(Math.abs(diff))}${p > 0 ? ` (${diff >= 0 ? "+" : "−"}${Math.abs(100 * diff / p).toFixed(0)} %)` : ""}`;
          change = `<span class="${cls}" data-change="${diff}">${text}</span> vs previous period`;
        }
      }
      return `<div class="tile" id="tile-${key}" data-kpi="${key}" data-value="${v == null ? "" : v}">` +
        `<div class="label">${label}</div><div class="value">${kind === "rate" ? fmtPct(v) : fmtInt(v)}</div>` +
        `<div class="ci">${ci ? `95 % CI ${fmtPct(ci[0])} – ${fmtPct(ci[1])}` : "&nbsp;"}</div>` +
        `<div class="change">${change}</div></div>`;
    }).join("");
  }

  // --- charts -----------------------------------------------------------------------------------
  const views = {};
  const base = { $schema: "https://vega.github.io/schema/vega-lite/v6.json", width: "container",
    data: { name: "table" }, config: { view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 11 } } };
  const SPECS = {
    series: Object.assign({}, base, {
      height: 220,
      mark: { type: "line", point: { size: 18 }, interpolate: "monotone" },
      encoding: {
        x: { field: "t", type: "temporal", scale: { type: "utc" }, title: null, axis: { format: "%b %d" } },
        y: { field: "value", type: "quantitative", title: "memberships" },
        color: { field: "series", type: "nominal", title: null,
          sort: ["contacts", "sends", "opens", "clicks", "replies", "bounces"] },
        tooltip: [{ field: "t", type: "temporal", scale: { type: "utc" }, format: "%Y-%m-%d", title: "from" },
          { field: "series" }, { field: "value", type: "quantitative", format: "," }],
      },
    }),
    funnel: Object.assign({}, base, {
      height: 190,
      encoding: {
        y: { field: "stage", type: "nominal", sort: null, title: null },
        x: { field: "value", type: "quantitative", title: "memberships", axis: { format: "~s", tickCount: 6 } },
      },
      layer: [
        { mark: { type: "bar", color: "#2563eb" },
          encoding: { tooltip: [{ field: "stage" }, { field: "value", format: "," }, { field: "share", format: ".1%" }] } },
        { mark: { type: "text", align: "left", dx: 4, fontSize: 11 },
          encoding: { text: { field: "label" } } },
        // an invisible point past the longest bar leaves room for its label
        { mark: { type: "point", opacity: 0 }, encoding: { x: { field: "pad", type: "quantitative" } } },
      ],
    }),
    mailboxes: Object.assign({}, base, {
      height: { step: 22 },
      autosize: { type: "fit-x", contains: "padding" },
      layer: [
        { mark: "bar",
          encoding: {
            y: { field: "mailbox", type: "nominal", sort: "-x", title: null },
            x: { field: "rate", type: "quantitative", title: "bounce rate", axis: { format: "%" } },
            color: { field: "flag", type: "nominal", scale: { domain: ["ok", "above threshold"], range: ["#64748b", "#b91c1c"] },
              title: null },
            tooltip: [{ field: "mailbox" }, { field: "contacted", format: "," }, { field: "bounced", format: "," },
              { field: "rate", format: ".2%", title: "bounce rate" }],
          } },
        { mark: { type: "rule", color: "#b91c1c", strokeDash: [4, 3] },
          encoding: { x: { datum: S.bounce_flag_rate } } },
      ],
    }),
  };
  // The first render embeds the chart with its rows; later renders only replace the rows.
  async function chart(name, rows) {
    if (!views[name]) {
      const spec = Object.assign({}, SPECS[name], { datasets: { table: rows } });
      const result = await vegaEmbed("#chart-" + name, spec, { actions: false, renderer: "svg" });
      views[name] = result.view;
      return;
    }
    await views[name].data("table", rows).runAsync();
  }

  // List-based columns (last activity per prospect) and, with webhooks, event counts (docs/metrics.md).
  const LIST_SERIES = ["contacts", "opens", "clicks", "replies", "bounces"];
  const EVENT_SERIES = ["event_sends", "event_opens", "event_clicks", "event_replies", "event_bounces"];
  const seriesLabel = (name) => (name === "event_sends" ? "sends" : name.replace("event_", ""));
  function seriesRows() {
    const daily = D.daily;
    const SERIES = state.events ? EVENT_SERIES : LIST_SERIES;
    const weekly = state.grain === "week";
    const step = weekly ? 7 : 1;
    const bucket = (day) => (weekly ? day - ((((day + 3) % 7) + 7) % 7) : day);
    if (!daily._days) {
      daily._c = Int32Array.from(daily.c);
      daily._days = Int32Array.from(daily.d);
      for (const n of [...LIST_SERIES, ...EVENT_SERIES]) daily["_" + n] = Float64Array.from(daily[n]);
      daily._min = daily.d.reduce((a, b) => Math.min(a, b), Infinity);
      daily._max = daily.d.reduce((a, b) => Math.max(a, b), -Infinity);
    }
    if (!daily.c.length) return [];
    const first = bucket(daily._min), slots = Math.floor((bucket(daily._max) - first) / step) + 1;
    const acc = new Float64Array(slots * SERIES.length);
    let lowest = slots, highest = -1;
    const lo = state.from === null ? -Infinity : state.from, hi = state.to === null ? Infinity : state.to;
    const okC = mask.campaigns, c = daily._c, days = daily._days, cols = SERIES.map((n) => daily["_" + n]);
    for (let i = 0, n = c.length; i < n; i++) {
      const day = days[i];
      if (!okC[c[i]] || day < lo || day > hi) continue;
      const slot = (bucket(day) - first) / step;
      if (slot < lowest) lowest = slot;
      if (slot > highest) highest = slot;
      for (let j = 0; j < SERIES.length; j++) acc[slot * SERIES.length + j] += cols[j][i];
    }
    const rows = [], totals = {};
    for (let slot = lowest; slot <= highest; slot++) {
      for (let j = 0; j < SERIES.length; j++) {
        const value = acc[slot * SERIES.length + j], series = seriesLabel(SERIES[j]);
        rows.push({ t: (first + slot * step) * DAY_MS, series, value });
        totals[series] = (totals[series] || 0) + value;
      }
    }
    $("chart-series").dataset.totals = JSON.stringify(totals);
    return rows;
  }

  // --- tables -----------------------------------------------------------------------------------
  const rateCell = (name, t, col) => {
    const v = rate(name, t), ci = interval(name, t);
    return `<td data-col="${col}" data-value="${v == null ? "" : v}">${fmtPct(v)}` +
      `${ci ? `<span class="ci">${fmtPct(ci[0])}–${fmtPct(ci[1])}</span>` : ""}</td>`;
  };
  const numCell = (col, v) => `<td data-col="${col}" data-value="${v == null ? "" : v}">${fmtInt(v)}</td>`;
  const LEAGUE = [
    ["campaign", "Campaign", (r) => String(r.name).toLowerCase()],
    ["status", "Status", (r) => r.status],
    ["enrolled", "Enrolled", (r) => r.t.enrolled],
    ["contacted", "Contacted", (r) => r.t.contacted],
    ["replied", "Replied", (r) => r.t.replied],
    ["reply_rate", "Reply rate (95 % CI)", (r) => rate("reply_rate", r.t)],
    ["positive_reply_rate", "Positive-reply rate", (r) => rate("positive_reply_rate", r.t)],
    ["bounce_rate", "Bounce rate (95 % CI)", (r) => rate("bounce_rate", r.t)],
    ["interested", "Interested", (r) => r.t.interested],
    ["reported_replied", "Reported replied", (r) => C.reported_replied[r.ci]],
    ["delta_replied", "Δ replied", (r) => C.delta_replied[r.ci]],
    ["delta_emails_sent", "Δ emails sent", (r) => C.delta_emails_sent[r.ci]],
  ];
  const LEAGUE_MAX = 200;
  function league(byCampaign) {
    const rows = [...byCampaign.entries()].map(([ci, t]) => ({ ci, t, name: C.name[ci] || "#" + C.id[ci], status: C.status[ci] }));
    const comparable = (r) => r.t.contacted - r.t.bounced >= S.min_comparable;
    const ranked = rows.filter(comparable).sort((a, b) => rate("reply_rate", b.t) - rate("reply_rate", a.t));
    let winner = null, pWinner = null;
    if (ranked.length >= 2) {
      const [a, b] = ranked;
      pWinner = twoProportionP(a.t.replied, a.t.contacted - a.t.bounced, b.t.replied, b.t.contacted - b.t.bounced);
      if (pWinner !== null && pWinner < 0.05 && rate("reply_rate", a.t) > rate("reply_rate", b.t)) winner = a.ci;
    }
    const col = LEAGUE.find((c) => c[0] === state.sortKey) || LEAGUE[4];
    for (const r of rows) r.key = col[2](r);
    rows.sort((a, b) => {
      const x = a.key, y = b.key;
      if (x == null && y == null) return a.ci - b.ci;
      if (x == null) return 1;
      if (y == null) return -1;
      return (x < y ? -1 : x > y ? 1 : a.ci - b.ci) * state.sortDir;
    });
    const head = "<thead><tr>" + LEAGUE.map(([key, label]) =>
      `<th data-sort="${key}" class="${key === state.sortKey ? "sorted" + (state.sortDir > 0 ? " asc" : "") : ""}">${label}</th>`).join("") + "</tr></thead>";
    const body = rows.slice(0, LEAGUE_MAX).map((r) => {
      const nc = !comparable(r);
      return `<tr data-campaign-id="${C.id[r.ci]}" class="${nc ? "nc" : ""}">` +
        `<td class="text" data-col="campaign">${esc(r.name)}${nc ? '<span class="badge nc" title="fewer than ' + S.min_comparable + ' delivered contacts">not comparable</span>' : ""}` +
        `${r.ci === winner ? '<span class="badge win">winner</span>' : ""}</td>` +
        `<td class="text" data-col="status">${esc(r.status)}</td>` +
        numCell("enrolled", r.t.enrolled) + numCell("contacted", r.t.contacted) + numCell("replied", r.t.replied) +
        rateCell("reply_rate", r.t, "reply_rate") + rateCell("positive_reply_rate", r.t, "positive_reply_rate") +
        rateCell("bounce_rate", r.t, "bounce_rate") + numCell("interested", r.t.interested) +
        numCell("reported_replied", C.reported_replied[r.ci]) + numCell("delta_replied", C.delta_replied[r.ci]) +
        numCell("delta_emails_sent", C.delta_emails_sent[r.ci]) + "</tr>";
    }).join("");
    $("league").innerHTML = head + "<tbody>" + body + "</tbody>";
    for (const th of $("league").querySelectorAll("th")) {
      th.addEventListener("click", () => {
        const key = th.dataset.sort;
        state.sortDir = key === state.sortKey ? -state.sortDir : (key === "campaign" || key === "status" ? 1 : -1);
        state.sortKey = key;
        league(byCampaign);
      });
    }
    const best = winner !== null ? `Winner: ${esc(C.name[winner])} — its reply rate is higher than the runner-up's ` +
      `(two-proportion z-test, p = ${pWinner.toPrecision(2)}).` :
      ranked.length >= 2 ? `No winner: the best reply rate is not significantly higher than the runner-up's` +
        (pWinner === null ? "." : ` (two-proportion z-test, p = ${pWinner.toPrecision(2)} ≥ 0.05).`) :
        "No winner: fewer than two comparable campaigns.";
    $("league-note").innerHTML = `${rows.length} campaign(s)${rows.length > LEAGUE_MAX ? `, the first ${LEAGUE_MAX} shown` : ""}. ` +
      `Click a header to sort. Not comparable: fewer than ${S.min_comparable} delivered contacts (contacted − bounced). ` +
      `Reported and Δ (reported − computed) are Woodpecker's own statistics for the whole campaign. ${best}`;
  }

  const STEPS_MAX_CAMPAIGNS = 12;
  function steps(byCampaign) {
    const st = D.steps;
    const groups = new Map(); // campaign → email step → its versions and counts
    for (let i = 0; i < st.c.length; i++) {
      const ci = st.c[i];
      if (!byCampaign.has(ci)) continue;
      let perStep = groups.get(ci);
      if (!perStep) { perStep = new Map(); groups.set(ci, perStep); }
      let g = perStep.get(st.email[i]);
      if (!g) { g = { email: st.email[i], reached: st.reached[i], replied: st.replied[i], versions: [] }; perStep.set(st.email[i], g); }
      if (st.version[i] != null) g.versions.push([st.version[i], st.subject[i]]);
    }
    const order = [...groups.keys()].sort((a, b) => byCampaign.get(b).replied - byCampaign.get(a).replied || a - b);
    const shown = order.slice(0, STEPS_MAX_CAMPAIGNS);
    const rows = [];
    for (const ci of shown) {
      const gs = [...groups.get(ci).values()].sort((a, b) => a.email - b.email);
      for (const g of gs) {
        const r = ratio(g.replied, g.reached), ci95 = wilson(g.replied, g.reached);
        const versions = g.versions.map(([v, s]) => `${esc(v)}${s ? ": " + esc(s) : " (thread reply)"}`).join("<br>");
        const ab = g.versions.length > 1
          ? '<span title="The API does not say which version each prospect received: versions cannot be compared and no winner is named.">not testable: no per-version counts</span>'
          : "single version";
        rows.push(`<tr data-campaign-id="${C.id[ci]}" data-email="${g.email}"><td class="text">${esc(C.name[ci])}</td>` +
          `<td>${g.email}</td><td class="text">${versions || "—"}</td>` +
          numCell("reached", g.reached) + numCell("replied_after", g.replied) +
          `<td data-col="step_reply_rate" data-value="${r == null ? "" : r}">${fmtPct(r)}${ci95 ? `<span class="ci">${fmtPct(ci95[0])}–${fmtPct(ci95[1])}</span>` : ""}</td>` +
          `<td class="text ab">${ab}</td></tr>`);
      }
    }
    $("steps").innerHTML = "<thead><tr><th>Campaign</th><th>Email</th><th class=\"text\">Versions</th><th>Reached</th>" +
      "<th>Replied after</th><th>Reply rate (95 % CI)</th><th class=\"text\">A/B test</th></tr></thead><tbody>" +
      (rows.join("") || '<tr><td class="text" colspan="7">No step structure loaded for these campaigns.</td></tr>') + "</tbody>";
    $("steps-note").textContent = `Per email step: prospects reached and replies that followed the step ` +
      `(step_version_performance). ${shown.length < order.length ? `The ${shown.length} campaigns with most replies are shown; pick campaigns in the filter for others. ` : ""}` +
      "Step counts cover each campaign's whole history: the API gives no step counts per mailbox or day.";
  }

  function domainsAndCompanies() {
    const dc = D.domain_cells;
    const names = ["contacted", "emails_sent", "replied", "bounced", "positive_replies"];
    const byDomain = sumCells(dc, names, state.from, state.to, "k");
    const dom = D.domains;
    const bounceRows = [...byDomain.entries()].filter(([, t]) => t.contacted > 0)
      .sort((a, b) => b[1].contacted - a[1].contacted || a[0] - b[0]).slice(0, 15);
    $("domains").innerHTML = "<thead><tr><th>Domain</th><th>Contacted</th><th>Bounced</th><th>Bounce rate (95 % CI)</th></tr></thead><tbody>" +
      (bounceRows.map(([k, t]) => `<tr data-domain="${esc(dom.name[k])}"><td class="text">${esc(dom.name[k])}</td>` +
        numCell("contacted", t.contacted) + numCell("bounced", t.bounced) + rateCell("bounce_rate", t, "bounce_rate") + "</tr>").join("") ||
        '<tr><td class="text" colspan="4">No contacted prospect in these domains.</td></tr>') + "</tbody>";
    $("domains-note").textContent = `Memberships of the ${S.top_bounce_domains} email domains with most contacted prospects ` +
      "(and the leading companies), the 15 with most contacts in the filter.";
    const companyRows = [...byDomain.entries()].filter(([k, t]) => !dom.free[k] && t.replied > 0)
      .sort((a, b) => b[1].replied - a[1].replied || b[1].positive_replies - a[1].positive_replies || a[0] - b[0]).slice(0, 10);
    $("companies").innerHTML = "<thead><tr><th>Company</th><th class=\"text\">Domain</th><th>Replies</th><th>Positive replies</th><th>Emails sent</th></tr></thead><tbody>" +
      (companyRows.map(([k, t]) => `<tr data-domain="${esc(dom.name[k])}"><td class="text">${esc(dom.company[k] || dom.name[k])}</td>` +
        `<td class="text">${esc(dom.name[k])}</td>` + numCell("replied", t.replied) + numCell("positive_replies", t.positive_replies) +
        numCell("emails_sent", t.emails_sent) + "</tr>").join("") ||
        '<tr><td class="text" colspan="5">No company has replied in the filter.</td></tr>') + "</tbody>";
    $("companies-note").textContent = `Replies per membership (campaign_replies), among the ${S.top_company_domains} ` +
      "company domains with most replies (free-mail domains left out).";
  }

  // --- one render -------------------------------------------------------------------------------
  let renders = 0;
  async function update() {
    const started = performance.now();
    const phases = {};
    let mark = started;
    const lap = (name) => { const now = performance.now(); phases[name] = Math.round(now - mark); mark = now; };
    inForce();
    mask = masks();
    const byCampaign = sumCells(cells, COUNTS, state.from, state.to, "c");
    const t = total(byCampaign, COUNTS);
    const nomatch = t.enrolled === 0;
    $("nomatch").hidden = !nomatch;
    $("panels").hidden = nomatch;
    if (!nomatch) {
      const prevPeriod = previousPeriod();
      const prev = prevPeriod ? total(sumCells(cells, COUNTS, prevPeriod[0], prevPeriod[1], "c"), COUNTS) : null;
      tiles(t, prev && prev.enrolled > 0 ? prev : prev ? zero(COUNTS) : null);
      lap("tiles");
      league(byCampaign);
      lap("league");
      steps(byCampaign);
      lap("steps");
      domainsAndCompanies();
      lap("domains");
      const byMailbox = sumCells(cells, ["contacted", "bounced"], state.from, state.to, "m");
      const mailboxRows = [...byMailbox.entries()].filter(([, a]) => a.contacted > 0).map(([m, a]) => {
        const r = a.bounced / a.contacted;
        return { mailbox: m < 0 ? "(none)" : D.mailboxes[m], contacted: a.contacted, bounced: a.bounced, rate: r,
          flag: r > S.bounce_flag_rate ? "above threshold" : "ok" };
      });
      const flagged = mailboxRows.filter((r) => r.flag !== "ok").map((r) => r.mailbox);
      $("mailbox-note").textContent = `Bounced ÷ contacted memberships per sending mailbox; the dashed line is the ` +
        `${(100 * S.bounce_flag_rate).toFixed(0)} % threshold. ` +
        (flagged.length ? `Above it: ${flagged.join(", ")}.` : "No mailbox is above it.");
      $("chart-mailboxes").dataset.flagged = flagged.join(",");
      $("series-note").textContent = (state.events
        ? "campaign_daily_activity, webhook events: every email sent, first open of an email, click, reply and " +
          "bounce, since the subscription started."
        : "campaign_daily_activity: prospects whose last send, observed open or click, attributed reply or " +
          "bounce fell in the period (an under-count of events, docs/metrics.md).") +
        (state.mailboxes.size ? " This mart has no mailbox column: with a mailbox filter it shows the selected " +
          "campaigns with all their mailboxes." : "");
      const funnel = [["enrolled", t.enrolled], ["contacted", t.contacted], ["opened or clicked", t.unique_opened_or_clicked],
        ["replied", t.replied], ["replied and interested", t.positive_replies]].map(([stage, value]) => ({
        stage, value, share: t.enrolled ? value / t.enrolled : 0, pad: t.enrolled * 1.3,
        label: fmtInt(value) + (t.enrolled ? ` (${(100 * value / t.enrolled).toFixed(1)} %)` : "") }));
      const series = seriesRows();
      lap("series_rows");
      await Promise.all([chart("series", series), chart("funnel", funnel), chart("mailboxes", mailboxRows)]);
      lap("charts");
    }
    renders += 1;
    document.body.dataset.renders = String(renders);
    document.body.dataset.renderMs = String(Math.round(performance.now() - started));
    document.body.dataset.renderPhases = JSON.stringify(phases); // where a render's time went (benchmark)
  }

  header();
  if (!D.has_data) {
    $("filters").hidden = true;
    $("panels").hidden = true;
    $("empty").hidden = false;
    $("empty-reason").textContent = (D.missing_marts && D.missing_marts.length)
      ? "The engagement tables have not been built in this database yet. Run `woodpecker-etl load` " +
        "(or `woodpecker-etl transform`), then open the dashboard again."
      : "The account has no campaign with prospects yet. Enrol prospects in a campaign, run " +
        "`woodpecker-etl load` again, and the dashboard fills in.";
    document.body.dataset.renders = "1";
    document.body.dataset.ready = "1";
    return;
  }
  columnar(cells, COUNTS);
  columnar(D.domain_cells, ["contacted", "emails_sent", "replied", "bounced", "positive_replies"]);
  controls();
  fromAddress();
  $("f-grain").value = state.grain;
  update().then(() => { document.body.dataset.ready = "1"; }, (err) => { console.error(err); });
}).catch((err) => { console.error(err); });
