"use strict";
// The modelyard dashboard: draws what the gateway's /admin JSON endpoints return. Text only
// (textContent, never innerHTML), so names, prompts and replies can never become markup.

const LIVE_EVERY_MS = 2000;
const SLOW_EVERY_MS = 30000;
const WINDOWS = [["1h", "last hour"], ["24h", "last 24 hours"], ["7d", "last 7 days"],
                 ["30d", "last 30 days"], ["all", "all time"]];
const COLOURS = { requests: "#0072b2", errors: "#cf222e", p95: "#e69f00", spend: "#009e73",
                  api: "#cc79a7" };

const page = { csrf: null, tab: "overview", timer: null, gateway: null, keys: [],
               charts: {}, cursors: [null], ledgerAsks: 0, prompts: false };

// ------------------------------------------------------------------ helpers

function $(id) { return document.getElementById(id); }

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return node;
}

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
function count(v) { return v === null || v === undefined ? "" : integer.format(v); }
function sig(v, digits = 3) {
  if (v === null || v === undefined || Number.isNaN(v)) return "";
  if (v === 0) return "0";
  const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(Math.abs(v))));
  return new Intl.NumberFormat("en-US", { minimumFractionDigits: Math.min(decimals, 8),
                                          maximumFractionDigits: Math.min(decimals, 8) }).format(v);
}
function usd(v) {
  if (v === null || v === undefined) return "";
  const sign = v < 0 ? "-" : "";
  const a = Math.abs(v);
  return sign + "$" + (a >= 1 ? new Intl.NumberFormat("en-US", { minimumFractionDigits: 2,
                                      maximumFractionDigits: 2 }).format(a) : sig(a));
}
// a tick label: dollars without the zeros a round tick ends in ($0.000003, $1.5)
function usdTick(v) { return usd(v).replace(/(\.\d*?[1-9])0+$/, "$1").replace(/\.0+$/, ""); }
function pct(v) { return v === null || v === undefined ? "" : (v * 100).toFixed(1) + "%"; }
function ms(v) { return v === null || v === undefined ? "" : count(v) + " ms"; }
function when(iso) { return iso ? iso.replace("T", " ").replace(/\.\d+\+00:00$|\+00:00$/, "") : ""; }

function badge(text, kind) { return el("span", { class: `badge ${kind}`, text }); }

// columns: [name, numeric?]; rows: arrays of cells (text, number or a Node)
function table(columns, rows, empty, rowProps) {
  if (!rows.length) return el("p", { class: "muted", text: empty });
  const head = el("tr", {}, ...columns.map(([name, numeric]) =>
    el("th", { class: numeric ? "num" : "", scope: "col", text: name })));
  const body = rows.map((cells, i) => el("tr", rowProps ? rowProps(i) : {},
    ...cells.map((cell, j) => el("td", { class: columns[j][1] ? "num" : "" }, cell))));
  return el("div", { class: "scroll" }, el("table", {}, el("thead", {}, head),
                                              el("tbody", {}, ...body)));
}

function show(id, node) { $(id).replaceChildren(node); }

function cards(id, items) {
  show(id, el("div", { class: "cards-inner" }, ...items.map(([label, value, note, kind]) =>
    el("div", { class: `card ${kind || ""}` }, el("div", { class: "label", text: label }),
       el("div", { class: "value", "data-card": label, text: value }),
       note ? el("div", { class: "note", text: note }) : null))));
}

function problem(message) {
  const banner = $("problem");
  banner.textContent = message || "";
  banner.hidden = !message;
}

async function api(path, options = {}) {
  const headers = { Accept: "application/json" };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (options.method && options.method !== "GET") headers["X-CSRF-Token"] = page.csrf;
  const response = await fetch(path, { credentials: "same-origin", ...options, headers });
  if (response.status === 401) {
    location.assign("/ui/login");
    throw new Error("the session ended; log in again");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error((data.error && data.error.message) || `HTTP ${response.status} from ${path}`);
  }
  return data;
}

function query(params) {
  const found = Object.entries(params).filter(([, v]) => v !== "" && v !== null && v !== undefined);
  return found.length ? "?" + new URLSearchParams(found).toString() : "";
}

// ------------------------------------------------------------------ charts (uPlot)

function chartWidth(node) { return Math.max(280, Math.min(node.clientWidth || 900, 1100)); }

function draw(name, node, options, data) {
  const width = chartWidth(node);
  const existing = page.charts[name];
  if (existing && existing.series.length === options.series.length) {
    existing.setData(data);
    if (existing.width !== width) existing.setSize({ width, height: options.height });
    return;
  }
  if (existing) existing.destroy();
  node.replaceChildren();
  page.charts[name] = new uPlot({ ...options, width }, data, node);
}

// a value axis as wide as its longest tick label, so no label is cut
function axis(label, format, extra) {
  return { label, stroke: "#59636e", grid: { stroke: "#eceff2" }, ticks: { stroke: "#d1d9e0" },
           labelSize: 20, labelGap: 2,
           size: (u, values) => 18 + 7.5 * Math.max(2, ...(values || []).map((v) => v.length)),
           values: format ? (u, splits) => splits.map(format) : undefined, ...extra };
}

const TIME_AXIS = { size: 56, labelSize: 20 };
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const HOUR = 3600, DAY = 86400;
// time ticks on whole hours or days (UTC), labelled "14:00" or "Dec 7"
function periodAxis(step) {
  const hours = (ts) => `${String(new Date(ts * 1e3).getUTCHours()).padStart(2, "0")}:00`;
  const days = (ts) => { const d = new Date(ts * 1e3); return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}`; };
  return { ...TIME_AXIS, label: `${step} (UTC)`, stroke: "#59636e", grid: { stroke: "#eceff2" },
           space: 60,
           incrs: step === "hour" ? [HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 7 * DAY]
                                  : [DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 91 * DAY],
           values: (u, splits) => splits.map((ts) => (step === "hour" && ts % DAY ? hours(ts) : days(ts))) };
}
// uPlot draws times in the browser's zone by default; the ledger counts days in UTC
function utc(ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); }

// every hour or day of the window, oldest first, with the periods the ledger has no row for
function periods(series, step, window) {
  const size = step === "hour" ? 3600 : 86400;
  const known = new Map(series.map((r) => [Math.floor(Date.parse(r.group.length === 10
    ? `${r.group}T00:00:00Z` : `${r.group}:00:00Z`) / 1000), r]));
  const now = Math.floor(Date.now() / 1000 / size) * size;
  const spans = { "1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400 };
  const first = window in spans ? Math.floor((now - spans[window]) / size) * size + size
                                : Math.min(now, ...known.keys());
  const out = [];
  for (let t = first; t <= now; t += size) out.push([t, known.get(t)]);
  return out;
}

// ------------------------------------------------------------------ overview

async function loadOverview() {
  const { live, backends } = await api("/admin/stats");
  const inFlight = backends.reduce((sum, b) => sum + b.in_flight, 0);
  const open = backends.filter((b) => b.breaker !== "closed").length;
  cards("cards", [
    ["Requests/s", sig(live.req_s), `${count(live.requests)} requests`],
    ["Error rate", pct(live.error_rate), `${count(live.errors)} errors`,
     live.errors ? "bad" : ""],
    ["Latency p50 / p95", `${ms(live.latency.p50_ms)} / ${ms(live.latency.p95_ms)}`],
    ["TTFT p50 / p95", `${ms(live.ttft.p50_ms) || "—"} / ${ms(live.ttft.p95_ms) || "—"}`,
     "streamed requests"],
    ["In flight", count(inFlight), `${backends.length} backends`],
    ["Breakers", open ? `${open} not closed` : "all closed", "", open ? "bad" : "good"],
  ]);
  // when the first figures are on the page (benchmarks/dashboard/run.py reads it)
  if (!performance.getEntriesByName("yard:figures").length) performance.mark("yard:figures");
  const span = live.truncated ? `the newest ${count(live.requests)} requests (${sig(live.covered_s)} s)`
                              : `the last ${Math.round(live.covered_s / 60)} minutes`;
  $("live-note").textContent = `Over ${span}, from the ledger (every worker and replica).`;
  const series = live.series;
  draw("live", $("live-chart"), {
    height: 220,
    scales: { x: { time: true }, ms: {} },
    series: [{}, { label: "requests/s", stroke: COLOURS.requests, width: 2 },
             { label: "errors/s", stroke: COLOURS.errors, width: 2 },
             { label: "p95 ms", stroke: COLOURS.p95, width: 1.5, scale: "ms", dash: [6, 4] }],
    tzDate: utc,
    axes: [{ ...TIME_AXIS, label: "time (UTC)", stroke: "#59636e", grid: { stroke: "#eceff2" } },
           axis("requests/s", (v) => sig(v, 2)),
           axis("p95 latency (ms)", count, { scale: "ms", side: 1, grid: { show: false } })],
  }, [series.map((b) => Date.parse(b.start_utc) / 1000), series.map((b) => b.req_s),
      series.map((b) => b.errors_s), series.map((b) => b.p95_ms)]);
  show("live-groups", table(
    [["model"], ["backend"], ["req/s", 1], ["requests", 1], ["errors", 1], ["p50", 1],
     ["p95", 1], ["TTFT p50", 1], ["TTFT p95", 1]],
    live.groups.map((g) => [g.model, g.backend || "(none)", sig(g.req_s), count(g.requests),
      g.errors ? badge(`${count(g.errors)} (${pct(g.error_rate)})`, "bad") : "0",
      ms(g.latency.p50_ms), ms(g.latency.p95_ms), ms(g.ttft.p50_ms), ms(g.ttft.p95_ms)]),
    "No request in the window yet."));
  show("backends", table(
    [["backend"], ["kind"], ["available"], ["breaker"], ["in flight", 1], ["replicas", 1],
     ["engine"]],
    backends.map((b) => [b.name, b.kind, b.available ? badge("yes", "good") : badge(b.down || "no", "bad"),
      badge(b.breaker, b.breaker === "closed" ? "good" : "bad"), count(b.in_flight),
      count(b.replicas), engineText(b.engine)]),
    "No backend is configured."));
}

function engineText(engine) {
  if (!engine) return "";
  const parts = [engine.running ? "running" : "not running"];
  if (engine.pid) parts.push(`pid ${engine.pid}`);
  if (engine.restarts !== undefined) parts.push(`${engine.restarts} restarts`);
  if (engine.last_failure) parts.push(`last ${engine.last_failure} (${engine.last_exit_code})`);
  return parts.join(", ");
}

// ------------------------------------------------------------------ spend

async function loadSpend() {
  const since = $("spend-since").value;
  const vs = $("spend-vs").value;
  const data = await api("/admin/usage" + query({ since, vs }));
  const { report, series } = data;
  const unpriced = data.unpriced_self_hosted;
  $("spend-unpriced").hidden = !unpriced.length;
  $("spend-unpriced").textContent = unpriced.length
    ? `Self-hosted ${unpriced.join(", ")} ${unpriced.length > 1 ? "have" : "has"} no $/h ` +
      "(usd_per_hour): its compute is counted as $0, so spend is understated and savings overstated."
    : "";
  const t = report.total;
  cards("spend-cards", [
    ["Spend", usd(t.cost_usd), `${count(t.requests)} requests`],
    ["Tokens", count(t.prompt_tokens + t.completion_tokens),
     `${count(t.prompt_tokens)} in, ${count(t.completion_tokens)} out`],
    ...(vs ? [["At " + vs, usd(t.vs_cost_usd), "the same tokens"],
              ["Saved", usd(t.savings_usd), "", t.savings_usd >= 0 ? "good" : "bad"]] : []),
  ]);
  const filled = periods(series, data.step, since);
  const lines = [{}, { label: "spend $", stroke: COLOURS.spend, width: 2, fill: "#009e7322" }];
  const values = [filled.map(([t]) => t), filled.map(([, r]) => (r ? r.cost_usd : 0))];
  if (vs) {
    lines.push({ label: `${vs} $`, stroke: COLOURS.api, width: 2, dash: [6, 4] });
    values.push(filled.map(([, r]) => (r ? r.vs_cost_usd : 0)));
  }
  draw("spend", $("spend-chart"), {
    height: 220, scales: { x: { time: true } }, series: lines, tzDate: utc,
    axes: [periodAxis(data.step), axis(`$ per ${data.step}`, usdTick)],
  }, values);
  const columns = (first) => [[first], ["requests", 1], ["errors", 1], ["prompt", 1],
    ["completion", 1], ["cached", 1], ["cost $", 1], ...(vs ? [[`${vs} $`, 1], ["saved $", 1]] : [])];
  const row = (r) => [r.group, count(r.requests), count(r.errors), count(r.prompt_tokens),
    count(r.completion_tokens), count(r.cached_tokens), usd(r.cost_usd),
    ...(vs ? [usd(r.vs_cost_usd), usd(r.savings_usd)] : [])];
  const empty = "No request in this window.";
  show("spend-by-key", table(columns("key"), report.by_key.map(row), empty));
  show("spend-by-model", table(columns("model"), report.by_model.map(row), empty));
  show("spend-by-backend", table(columns("backend"), report.by_backend.map(row), empty));
  show("spend-by-day", table(columns("day (UTC)"), report.by_day.map(row), empty));
}

// ------------------------------------------------------------------ routing

async function loadRouting() {
  const data = await api("/admin/routing" + query({ since: $("routing-since").value }));
  const total = data.requests || 1;
  const share = (items, label) => table([[label], ["requests", 1], ["share", 1]],
    items.map((c) => [c.value, count(c.requests), pct(c.requests / total)]),
    "No request in this window.");
  const counts = (items, label, empty) => table([[label], ["requests", 1]],
    items.map((c) => [c.value, count(c.requests)]), empty);
  show("routing-backends", share(data.by_backend, "backend"));
  show("routing-models", share(data.by_model, "model"));
  show("routing-kinds", counts(data.kinds, "how", "No request in this window."));
  show("routing-reasons", counts(data.reasons, "reason", "No routed request in this window."));
  show("routing-private", counts(data.private, "kind", "No request was kept self-hosted for private data."));
  show("routing-escalated", counts(data.escalated_from, "model", "No cascade escalation."));
  show("routing-fallbacks", counts(data.fell_back_from, "backend or model", "No fallback."));
}

// ------------------------------------------------------------------ keys

async function loadKeys() {
  const { data } = await api("/admin/keys");
  page.keys = data;
  fillKeyPicker();
  show("keys-table", table(
    [["name"], ["id"], ["prefix"], ["models"], ["budget $", 1], ["spent $", 1], ["rpm", 1],
     ["tpm", 1], ["private"], ["created"], ["state"], [""]],
    data.map((k) => [k.name, el("code", { text: k.id }), el("code", { text: k.prefix + "…" }),
      k.models ? k.models.join(", ") : "any", budget(k),
      usd(k.spent_usd), count(k.rpm), count(k.tpm), privacy(k), when(k.created_utc),
      k.revoked_utc ? badge("revoked", "bad") : badge("active", "good"),
      k.revoked_utc ? "" : el("span", { class: "row-actions" },
        el("button", { class: "link", "data-edit": k.id, text: "edit", onclick: () => editKey(k) }),
        el("button", { class: "link danger", "data-revoke": k.id, text: "revoke",
                       onclick: () => revokeKey(k) }))]),
    "No key yet: the gateway is open until one is created (or an admin key is set)."));
}

const PER = { daily: " / day", monthly: " / month" };

function privacy(key) {
  return [key.private ? "self-hosted only" : "", key.private_data || ""].filter(Boolean).join(", ");
}

function budget(key) {
  return key.budget_usd === null ? "" : usd(key.budget_usd) + (PER[key.budget_period] || "");
}

function keyBody() {
  const number = (id) => ($(id).value === "" ? null : Number($(id).value));
  const models = $("key-models").value.split(",").map((m) => m.trim()).filter(Boolean);
  return { name: $("key-name").value.trim(), models: models.length ? models : null,
           budget_usd: number("key-budget"), rpm: number("key-rpm"), tpm: number("key-tpm"),
           budget_period: $("key-period").value || null,
           private_data: $("key-private-data").value || null,
           private: $("key-private").checked };
}

function editKey(key) {
  $("key-id").value = key.id;
  $("key-form-title").textContent = `Edit ${key.name}`;
  $("key-save").textContent = "Save changes";
  $("key-cancel").hidden = false;
  $("key-name").value = key.name;
  $("key-models").value = key.models ? key.models.join(", ") : "";
  $("key-budget").value = key.budget_usd === null ? "" : key.budget_usd;
  $("key-period").value = key.budget_period || "";
  $("key-private-data").value = key.private_data || "";
  $("key-rpm").value = key.rpm === null ? "" : key.rpm;
  $("key-tpm").value = key.tpm === null ? "" : key.tpm;
  $("key-private").checked = key.private;
  $("key-name").focus();
}

function resetKeyForm() {
  $("key-form").reset();
  $("key-id").value = "";
  $("key-form-title").textContent = "New key";
  $("key-save").textContent = "Create key";
  $("key-cancel").hidden = true;
  $("key-error").hidden = true;
}

async function saveKey(event) {
  event.preventDefault();
  const id = $("key-id").value;
  $("key-error").hidden = true;
  try {
    const body = JSON.stringify(keyBody());
    if (id) {
      await api(`/admin/keys/${encodeURIComponent(id)}`, { method: "PATCH", body });
      $("new-key").hidden = true;
    } else {
      const made = await api("/admin/keys", { method: "POST", body });
      $("new-key-value").textContent = made.key;
      $("new-key").hidden = false;
    }
    resetKeyForm();
    await loadKeys();
  } catch (failure) {
    $("key-error").textContent = failure.message;
    $("key-error").hidden = false;
  }
}

async function revokeKey(key) {
  if (!confirm(`Revoke ${key.name}? Requests with it are refused from now on.`)) return;
  try {
    await api(`/admin/keys/${encodeURIComponent(key.id)}`, { method: "DELETE" });
    await loadKeys();
  } catch (failure) {
    problem(failure.message);
  }
}

function fillKeyPicker() {
  const picker = $("ledger-key");
  const chosen = picker.value;
  picker.replaceChildren(el("option", { value: "", text: "any" }),
    ...page.keys.map((k) => el("option", { value: k.id, text: k.name })));
  picker.value = chosen;
}

// ------------------------------------------------------------------ ledger

function ledgerParams(cursor) {
  return { key: $("ledger-key").value, model: $("ledger-model").value,
           backend: $("ledger-backend").value, status: $("ledger-status").value,
           since: $("ledger-since").value.trim(), until: $("ledger-until").value.trim(), cursor };
}

async function loadLedger() {
  const cursor = page.cursors[page.cursors.length - 1];
  const asked = ++page.ledgerAsks;
  const data = await api("/admin/ledger" + query(ledgerParams(cursor)));
  if (asked !== page.ledgerAsks) return;  // a newer search was sent while this one ran
  page.prompts = data.prompts_logged;
  const names = data.key_names;
  $("ledger-note").textContent = `Page ${page.cursors.length}, newest first. ` +
    (data.prompts_logged ? "Prompt logging is on: open a row for its request and reply."
                         : "Prompt logging is off: rows hold counts and timings only.");
  show("ledger-table", table(
    [["time (UTC)"], ["key"], ["asked"], ["served"], ["backend"], ["status", 1], ["in", 1],
     ["out", 1], ["cost $", 1], ["ms", 1], ["TTFT ms", 1]],
    data.rows.map((r) => [when(r.datetime_utc), names[r.key_id] || r.key_id || "",
      r.requested_model || "", r.served_model || "", r.backend || "",
      badge(String(r.status), r.status >= 400 ? "bad" : "good"), count(r.prompt_tokens),
      count(r.completion_tokens), usd(r.cost_usd), count(r.duration_ms), count(r.ttft_ms)]),
    "No ledger row matches.",
    (i) => ({ class: "clickable", tabindex: "0", "data-id": data.rows[i].id,
              onclick: () => openRow(data.rows[i].id) })));
  page.nextCursor = data.next_cursor;
  $("ledger-older").disabled = !data.next_cursor;
  $("ledger-newer").disabled = page.cursors.length < 2;
}

async function openRow(id) {
  const row = await api(`/admin/ledger/${encodeURIComponent(id)}`);
  const fields = Object.entries(row).filter(([k]) => !["request_json", "response_json",
    "route_reason", "prompts_logged"].includes(k));
  const detail = [el("h2", { text: `Request ${id}` }),
    table([["field"], ["value"]], fields.map(([k, v]) => [k, v === null ? "" : String(v)]), ""),
    el("h3", { text: "Route reason" }), el("pre", { text: pretty(row.route_reason) })];
  if (row.prompts_logged) {
    detail.push(el("h3", { text: "Request" }), el("pre", { text: pretty(row.request_json) }),
                el("h3", { text: "Reply" }), el("pre", { text: pretty(row.response_json) }));
  }
  const box = $("ledger-detail");
  box.replaceChildren(...detail, el("button", { class: "link", text: "close",
                                                onclick: () => { box.hidden = true; } }));
  box.hidden = false;
  box.scrollIntoView({ block: "nearest" });
}

function pretty(text) {
  if (!text) return "(none)";
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch { return text; }
}

// ------------------------------------------------------------------ plan vs reality

async function loadPlan() {
  const data = await api("/admin/plan" + query({ since: $("plan-since").value }));
  const ratio = (a, b) => (a && b ? sig(a / b, 2) + "×" : "");
  show("plan-table", table(
    [["backend"], ["planned as"], ["tok/s planned", 1], ["tok/s measured", 1],
     ["measured / planned", 1], ["$ / 1M planned", 1], ["$ / 1M measured", 1], ["$/h", 1],
     ["requests", 1]],
    data.backends.map((r) => {
      const p = r.planned;
      return [r.backend, p ? `${p.model} on ${p.hardware}, ${p.engine}, ${p.quant}` : "—",
        p ? sig(p.tok_s) : "", sig(r.tok_s), ratio(r.tok_s, p && p.tok_s),
        p ? usd(p.usd_per_mtok) : "", usd(r.usd_per_mtok),
        r.usd_per_hour === null ? badge("unpriced", "warn") : usd(r.usd_per_hour), count(r.requests)];
    }),
    "No self-hosted backend is configured."));
  const notes = data.backends.flatMap((r) => [
    ...(r.why_no_plan ? [`${r.backend}: no plan: ${r.why_no_plan}`] : []),
    ...(r.planned ? r.planned.basis.map((b) => `${r.backend}: ${b}`) : [])]);
  show("plan-notes", notes.length ? el("ul", { class: "muted" },
    ...notes.map((n) => el("li", { text: n }))) : el("span"));
}

// ------------------------------------------------------------------ tabs and refresh

const LOADERS = { overview: [loadOverview, LIVE_EVERY_MS], spend: [loadSpend, SLOW_EVERY_MS],
                  routing: [loadRouting, SLOW_EVERY_MS], keys: [loadKeys, SLOW_EVERY_MS],
                  ledger: [loadLedger, 0], plan: [loadPlan, SLOW_EVERY_MS] };

async function refresh() {
  clearTimeout(page.timer);
  const [load, every] = LOADERS[page.tab];
  try {
    await load();
    problem("");
    $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (failure) {
    problem(failure.message);
  }
  if (every && !document.hidden) page.timer = setTimeout(refresh, every);
}

function openTab(name) {
  page.tab = name;
  for (const button of document.querySelectorAll("#tabs button")) {
    if (button.dataset.tab === name) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  for (const section of document.querySelectorAll("main > section")) {
    section.hidden = section.id !== name;
  }
  history.replaceState(null, "", `#${name}`);
  refresh();
}

function fillWindows() {
  for (const picker of document.querySelectorAll("select.since")) {
    picker.replaceChildren(...WINDOWS.map(([value, label]) => el("option", { value, text: label })));
    picker.value = picker.id === "spend-since" ? "7d" : "24h";
    picker.addEventListener("change", refresh);
  }
}

function fillPickers(gateway, offers) {
  $("ledger-model").append(...gateway.models.map((m) => el("option", { value: m, text: m })));
  $("ledger-backend").append(...gateway.backends.map((b) => el("option", { value: b.name, text: b.name })));
  $("spend-vs").append(...offers.data.map((a) => el("option", { value: a.id,
    text: `${a.id} ($${a.input_per_mtok} / $${a.output_per_mtok} per 1M)` })));
}

function bind() {
  for (const button of document.querySelectorAll("#tabs button")) {
    button.addEventListener("click", () => openTab(button.dataset.tab));
  }
  $("spend-vs").addEventListener("change", refresh);
  $("key-form").addEventListener("submit", saveKey);
  $("key-cancel").addEventListener("click", resetKeyForm);
  $("ledger-form").addEventListener("submit", (event) => {
    event.preventDefault();
    page.cursors = [null];
    refresh();
  });
  $("ledger-older").addEventListener("click", () => { page.cursors.push(page.nextCursor); refresh(); });
  $("ledger-newer").addEventListener("click", () => { page.cursors.pop(); refresh(); });
  $("logout").addEventListener("click", async () => {
    await api("/admin/session", { method: "DELETE" }).catch(() => null);
    location.assign("/ui/login");
  });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
  window.addEventListener("resize", () => {
    for (const [name, chart] of Object.entries(page.charts)) {
      const node = $(`${name}-chart`);
      if (node && !node.closest("section").hidden) chart.setSize({ width: chartWidth(node), height: 220 });
    }
  });
}

// the first figures first: the tab's own request goes out at once, beside those that fill the
// pickers and fetch the CSRF token (changes wait for it)
async function start() {
  bind();
  fillWindows();
  const wanted = location.hash.slice(1);
  openTab(LOADERS[wanted] ? wanted : "overview");
  const [session, gateway, offers] = await Promise.all(
    [api("/admin/session"), api("/admin/gateway"), api("/admin/apis")]);
  page.csrf = session.csrf;
  page.gateway = gateway;
  fillPickers(gateway, offers);
  if (page.tab !== "keys") await loadKeys();
}

start().catch((failure) => problem(failure.message));
