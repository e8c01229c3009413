// One pack: its values now, cells and sensors, trends over a chosen range, identity and cases.

import { api, seg } from "./api.js";
import { drawCells } from "./cells.js";
import { timeChart } from "./charts.js";
import { diagnosisPanel, onCommand } from "./diagnosis.js";
import { card, el, facts, h } from "./dom.js";
import { ago, fixed, when } from "./format.js";
import { packHealthLines } from "./pack-health.js";
import { pointOf, SERIES_CHARTS } from "./pack-series.js";
import { caseHref } from "./router.js";
import { codeTags, levelled, levelOf, limitsFor, notice, severityTag } from "./widgets.js";

/** The ranges of the trend charts; `live` is the live service's recent buffer, kept current from the feed. */
const RANGES = [
  { key: "live", label: "Live", ms: 10 * 60_000, follow: true },
  { key: "15m", label: "15 min", ms: 15 * 60_000, follow: true },
  { key: "24h", label: "24 h", ms: 86_400_000, follow: false },
  { key: "30d", label: "30 days", ms: 30 * 86_400_000, follow: false },
];
const RELOAD_MS = 60_000;

const SOURCE_NAMES = { influxql: "InfluxDB (InfluxQL)", victoriametrics: "VictoriaMetrics", live: "the live service's recent buffer" };

/** The trend charts and which history field each line shows. */
const TRENDS = [SERIES_CHARTS.soc, SERIES_CHARTS.voltage, SERIES_CHARTS.current, SERIES_CHARTS.temperatures, SERIES_CHARTS.cells];

function nowFacts(view, meta) {
  const s = view.sample;
  if (!s) return notice("No sample since the live service started.");
  const limits = limitsFor(meta, view.meta?.chemistry);
  const flow = s.current > 0.05 ? "charging" : s.current < -0.05 ? "discharging" : "at rest";
  return facts([
    ["SOC", levelled(`${fixed(s.soc, 1)} %`, levelOf(s.soc, limits.soc))],
    ["SOH", s.soh === undefined ? "not reported" : `${fixed(s.soh, 1)} %`],
    ["Cycles", s.cycleCount === undefined ? "not reported" : String(s.cycleCount)],
    ["Pack voltage", `${fixed(s.packVoltage, 2)} V`],
    ["Current", `${fixed(s.current, 1)} A (${flow})`],
    ["Remaining capacity", s.remainingCapacity === undefined ? null : `${fixed(s.remainingCapacity, 1)} Ah`],
    [
      "Charge limits (BMS)",
      s.chargeCurrentLimit === undefined && s.chargeVoltageLimit === undefined
        ? "not reported"
        : `${fixed(s.chargeCurrentLimit, 1)} A, ${fixed(s.chargeVoltageLimit, 2)} V`,
    ],
    [
      "Discharge limits (BMS)",
      s.dischargeCurrentLimit === undefined && s.dischargeVoltageLimit === undefined
        ? "not reported"
        : `${fixed(s.dischargeCurrentLimit, 1)} A, ${fixed(s.dischargeVoltageLimit, 2)} V`,
    ],
    ["Insulation", s.insulationResistance === undefined ? null : `${fixed(s.insulationResistance, 0)} kΩ`],
    ["BMS codes", s.bmsAlarms?.length ? codeTags(s.bmsAlarms) : "none"],
    ["Sampled", h("span", {}, when(s.ts), ` (received ${ago(view.receivedAt)})`)],
  ]);
}

function identityFacts(view) {
  const m = view.meta;
  const status = view.siteStatus;
  const agent = status ? `${status.state}${status.agent ? `, ${status.agent.queueDepth} queued` : ""} (status ${ago(status.ts)})` : "no status received";
  if (!m)
    return facts([
      ["Identity", "not published by the agent yet"],
      ["Site agent", agent],
    ]);
  const today = new Date().toISOString().slice(0, 10);
  const warranty =
    m.warrantyStart || m.warrantyEnd
      ? `${m.warrantyStart || "?"} to ${m.warrantyEnd || "?"} (${m.warrantyEnd && m.warrantyEnd < today ? "ended" : "in warranty"})`
      : "no dates known";
  return facts([
    ["Manufacturer", m.manufacturer],
    ["Model", m.model],
    ["Serial", m.serial],
    ["Chemistry", m.chemistry],
    ["Cells", String(m.cellCount)],
    ["Rated capacity", `${m.ratedCapacity} Ah`],
    ["BMS firmware", m.bmsFirmware],
    ["Warranty", warranty],
    ["Site agent", agent],
  ]);
}

/** The ingestion's health figures of the pack (GET …/health), or why there are none. */
function healthFacts(health, problem) {
  if (problem) return notice(`No health figures: ${problem}`);
  if (!health) return notice("Loading the pack's health…");
  return facts(packHealthLines(health));
}

function casesList(rollup) {
  if (!rollup.cases.length) return notice("No cases for this pack.");
  return h(
    "ul",
    { class: "case-list" },
    rollup.cases.map((c) =>
      h(
        "li",
        { dataset: { caseId: c.id } },
        severityTag(c.severity),
        " ",
        h("a", { href: caseHref(c.id) }, c.title),
        el("span", ` · ${c.status} · opened `, "muted"),
        when(c.openedAt),
      ),
    ),
  );
}

/** Links to the pack's Grafana dashboards (provisioned beside the console), over the range shown here; none without `grafanaUrl`. */
function grafanaLinks(grafanaUrl, siteId, packId, currentRange) {
  if (!grafanaUrl) return null;
  const link = (uid, label) =>
    h(
      "a",
      {
        dataset: { grafana: uid },
        target: "_blank",
        rel: "noopener noreferrer",
        onclick: (ev) => {
          // The range picked when clicked.
          ev.currentTarget.href = grafanaHref(grafanaUrl, uid, siteId, packId, currentRange().ms);
        },
        href: grafanaHref(grafanaUrl, uid, siteId, packId, currentRange().ms),
      },
      label,
    );
  return h("p", { class: "muted" }, "In Grafana: ", link("bms-pack", "pack dashboard"), " · ", link("bms-cells", "cells dashboard"));
}

function grafanaHref(grafanaUrl, uid, siteId, packId, rangeMs) {
  const q = new URLSearchParams({ "var-site": siteId, "var-pack": packId, from: `now-${Math.round(rangeMs / 60_000)}m`, to: "now" });
  return `${grafanaUrl}/d/${uid}?${q}`;
}

export function renderPack(page, { siteId, packId, ctx }) {
  const title = `${siteId} / ${packId}`;
  const nowBox = el("div");
  const identityBox = el("div");
  const cellsBox = el("div", null, "cells");
  const casesBox = el("div");
  const healthBox = h("div", { id: "pack-health" }, healthFacts(null, null));
  const source = el("p", null, "muted source");
  const chartsBox = el("div", null, "charts");
  const error = el("p", null, "error");
  error.setAttribute("role", "alert");
  let range = RANGES[0];
  const picker = h(
    "div",
    { class: "range", role: "radiogroup", "aria-label": "Time range" },
    RANGES.map((r) =>
      h("button", { type: "button", role: "radio", "aria-checked": String(r === range), dataset: { range: r.key }, onclick: () => setRange(r) }, r.label),
    ),
  );
  page.replaceChildren(
    h(
      "nav",
      { class: "crumbs", "aria-label": "Breadcrumb" },
      h("a", { href: "#/" }, "Fleet"),
      " › ",
      h("a", { href: `#/?q=${encodeURIComponent(siteId)}` }, siteId),
      " › ",
      packId,
    ),
    h("div", { class: "page-head" }, h("h1", { tabindex: "-1" }, title)),
    error,
    h("div", { class: "grid-2" }, card("Now", nowBox), card("Identity and warranty", identityBox)),
    card("Health: state of health, throughput, stress and warranty window", healthBox),
    card("Cells and sensors", cellsBox),
    card(
      "Trends",
      picker,
      source,
      chartsBox,
      grafanaLinks(ctx.meta.grafanaUrl, siteId, packId, () => range),
    ),
    card("Cases", casesBox),
    ...(ctx.canWork ? [card("Remote diagnosis", diagnosisPanel({ siteId, packId }, ctx.me.role))] : []),
  );

  const charts = TRENDS.map((t) => ({
    spec: t,
    chart: timeChart(chartsBox, { title: t.title, unit: t.unit, series: t.series, sync: `pack-${siteId}-${packId}` }),
  }));
  let points = [];
  let view = null;
  let stopped = false;
  let reload = null;
  let healthReload = null;

  const drawCharts = () => {
    const from = Date.now() - range.ms;
    if (range.follow) points = points.filter((p) => p.ts >= from);
    const ts = points.map((p) => p.ts);
    for (const { spec, chart } of charts) chart.setData([ts, ...spec.series.map((s) => points.map((p) => p[s.key]))]);
  };

  async function loadHistory() {
    clearTimeout(reload);
    const to = Date.now();
    const width = Math.max(300, Math.floor(chartsBox.getBoundingClientRect().width || 800));
    const q = new URLSearchParams({ from: String(to - range.ms), to: String(to), maxPoints: String(Math.min(5000, width)) });
    try {
      const answer = await api(`/api/packs/${seg(siteId, packId)}/history?${q}`);
      if (stopped) return;
      points = answer.points;
      chartsBox.dataset.source = answer.source;
      const detail = answer.resolutionMs ? `${Math.round(answer.resolutionMs / 1000)} s buckets (mean; lowest and highest kept)` : "every sample";
      source.replaceChildren(`From ${SOURCE_NAMES[answer.source] || answer.source}, ${detail}.`);
      if (answer.warning) source.append(h("span", { class: "warn", role: "status" }, ` ${answer.warning}`));
      drawCharts();
    } catch (err) {
      if (!stopped && err.status !== 401) error.textContent = `Could not load the history: ${err.message}`;
    }
    if (!stopped && !range.follow) reload = setTimeout(loadHistory, RELOAD_MS);
  }

  function setRange(r) {
    range = r;
    for (const b of picker.querySelectorAll("button")) b.setAttribute("aria-checked", String(b.dataset.range === r.key));
    loadHistory();
  }

  function drawView() {
    if (!view) return;
    nowBox.replaceChildren(nowFacts(view, ctx.meta));
    identityBox.replaceChildren(identityFacts(view));
    drawCells(cellsBox, view.sample, limitsFor(ctx.meta, view.meta?.chemistry));
  }

  async function loadView() {
    try {
      const [v, rollup] = await Promise.all([
        api(`/api/packs/${seg(siteId, packId)}`).catch((err) => (err.status === 404 ? null : Promise.reject(err))),
        api(`/api/packs/${seg(siteId, packId)}/cases`),
      ]);
      if (stopped) return;
      view = v ?? { siteId, packId, sample: null, meta: null, siteStatus: null, receivedAt: null };
      drawView();
      casesBox.replaceChildren(casesList(rollup));
    } catch (err) {
      if (!stopped && err.status !== 401) error.textContent = `Could not load the pack: ${err.message}`;
    }
  }

  async function loadHealth() {
    clearTimeout(healthReload);
    try {
      const health = await api(`/api/packs/${seg(siteId, packId)}/health`);
      if (stopped) return;
      healthBox.replaceChildren(healthFacts(health, null));
    } catch (err) {
      if (stopped || err.status === 401) return;
      healthBox.replaceChildren(healthFacts(null, err.message));
    }
    if (!stopped) healthReload = setTimeout(loadHealth, RELOAD_MS);
  }

  const stopWatching = ctx.watchPack(siteId, packId);
  const stopSamples = ctx.on("sample", (s) => {
    if (s.siteId !== siteId || s.packId !== packId || !view) return;
    view.sample = s;
    view.receivedAt = Date.now();
    drawView();
    if (range.follow && (points.length === 0 || s.ts > points[points.length - 1].ts)) {
      points.push(pointOf(s));
      drawCharts();
    }
  });
  const stopCases = ctx.on("case", (e) => {
    if (e.case.siteId === siteId && e.case.packId === packId) loadView();
  });
  const stopCommands = ctx.on("command", onCommand);
  loadView();
  loadHistory();
  loadHealth();
  return () => {
    stopped = true;
    clearTimeout(reload);
    clearTimeout(healthReload);
    stopWatching();
    stopSamples();
    stopCases();
    stopCommands();
    for (const { chart } of charts) chart.destroy();
  };
}
