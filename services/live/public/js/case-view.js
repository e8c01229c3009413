// One case, whole: evidence (as it opened and as it followed the condition since), the freeze frame
// around the trigger and the latest capture beside it, the timeline, and the engineer's forms
// (moves, notes, assignment, costs, parts).

import { api, seg } from "./api.js";
import { costForm, partForm, workForms } from "./case-forms.js";
import { drawCells } from "./cells.js";
import { timeChart } from "./charts.js";
import { diagnosisPanel, onCommand } from "./diagnosis.js";
import { card, el, facts, h, keepEdits } from "./dom.js";
import { cellName, duration, fixed, when } from "./format.js";
import { pointOf, SERIES_CHARTS } from "./pack-series.js";
import { packHref } from "./router.js";
import { codeTags, limitsFor, notice, severityTag } from "./widgets.js";

/** Charts of a freeze frame: each a quantity around the trigger. */
const FRAME_CHARTS = [SERIES_CHARTS.cells, SERIES_CHARTS.temperatures, SERIES_CHARTS.current, SERIES_CHARTS.voltage];

/** Whether a case's index is a cell or a sensor, from the words of its detail. */
const indexKind = (c) => (/sensor|temperat/i.test(`${c.evidence.detail} ${c.ruleId}`) ? "sensor" : "cell");

/** The pack's use behind the warranty assessment: operating window, throughput, SOH against the curve, evidence lines. */
function warrantyUseFacts(w) {
  if (!w) return [];
  const stress = w.stress
    ? `${fixed(w.stress.outsideSharePct, 1)} % of ${fixed(w.stress.operatingHours, 0)} h outside ${w.stress.window} (allowed ${w.stress.maxOutsideSharePct} %)`
    : null;
  const throughput = w.throughput
    ? `${fixed(w.throughput.equivalentFullCycles, 1)} cycles · ${fixed(w.throughput.dischargedKWh, 1)} kWh${w.throughput.usedPct === null ? "" : ` · ${fixed(w.throughput.usedPct, 1)} % of warranted`}`
    : null;
  let soh = null;
  if (w.soh) {
    const estimate =
      w.soh.estimatePct === null
        ? `no estimate: ${w.soh.reason || "not enough data"}`
        : `${fixed(w.soh.estimatePct, 1)} ± ${fixed(w.soh.uncertaintyPct, 1)} % (${w.soh.windows} windows)`;
    const curve = w.soh.warrantedMinPct === null ? "" : ` · warranted ${fixed(w.soh.warrantedMinPct, 1)} % at ${fixed(w.soh.ageYears, 1)} years`;
    soh = `${estimate}${curve} · cells ${w.soh.cellVerdict}`;
  }
  return [
    ["Operating window", stress],
    ["Throughput", throughput],
    ["SOH vs end-of-life curve", soh],
    ...(w.evidence || []).map((line) => [`Evidence (${line.topic}, points ${line.points})`, line.text]),
  ];
}

function evidenceFacts(c) {
  const e = c.evidence;
  const f = e.followUp;
  const held = f
    ? h(
        "span",
        { dataset: { field: "follow-up" } },
        `worst ${f.worstDetail} at `,
        when(f.worstAt),
        `; held ${duration(f.heldUntil - f.heldSince)} (from `,
        when(f.heldSince, { timeOnly: true }),
        " to ",
        when(f.heldUntil, { timeOnly: true }),
        c.clearedAt ? ", then cleared)" : ", still holding at the last update)",
      )
    : null;
  const w = c.warranty;
  return facts([
    ["When it opened", el("span", e.detail, "detail")],
    ["Value", e.value === null ? null : `${e.value}${e.threshold === null ? "" : ` (threshold ${e.threshold})`}`],
    [indexKind(c) === "sensor" ? "Sensor" : "Cell", typeof e.index === "number" ? cellName(e.index, indexKind(c)) : null],
    ["Since then", held],
    ["Condition", c.clearedAt ? h("span", {}, "cleared at ", when(c.clearedAt)) : "still holding (or not cleared yet)"],
    [
      "Rules fired",
      e.rulesFired.length
        ? h(
            "ul",
            { class: "plain" },
            e.rulesFired.map((r) =>
              h("li", {}, when(r.at, { timeOnly: true }), ` ${r.ruleId} (${r.severity}${r.role === "case" ? "" : `, ${r.role}`}): ${r.detail}`),
            ),
          )
        : null,
    ],
    ["BMS codes", e.bmsAlarms.length ? codeTags(e.bmsAlarms) : null],
    [
      "Warranty",
      w
        ? h(
            "span",
            { dataset: { field: "warranty" } },
            `${w.coverage} · repair looks ${w.suggestion}: ${w.reason} (assessed `,
            when(w.assessedAt),
            ")",
            w.exclusions.length
              ? h(
                  "ul",
                  { class: "plain" },
                  w.exclusions.map((x) => h("li", {}, `${x.condition}: ${x.detail}${x.exceedsTolerance ? " (beyond tolerance)" : ""}`)),
                )
              : null,
          )
        : "not assessed",
    ],
    ...warrantyUseFacts(w),
    [
      "Pack",
      e.meta
        ? `${e.meta.manufacturer} ${e.meta.model}, SN ${e.meta.serial}, firmware ${e.meta.bmsFirmware}, ${e.meta.chemistry}, ${e.meta.cellCount} cells, ${e.meta.ratedCapacity} Ah`
        : null,
    ],
    ["Pack warranty", e.meta && (e.meta.warrantyStart || e.meta.warrantyEnd) ? `${e.meta.warrantyStart || "?"} to ${e.meta.warrantyEnd || "?"}` : null],
  ]);
}

function drawFrames(box, frames) {
  const charts = [];
  if (!frames?.length) {
    box.append(notice("No freeze frame: this case's rule fires on a clock (no data, site offline) or it opened before frames were kept."));
    return charts;
  }
  frames.forEach((frame, i) => {
    const samples = [...frame.before, ...frame.after];
    const head = h(
      "p",
      { class: "muted" },
      `Trigger ${i + 1} of ${frames.length} (${frame.ruleId}) at `,
      when(frame.triggerTs),
      ` · ${frame.before.length} samples before, ${frame.after.length} after${frame.complete ? "" : " (still collecting the after-window)"}`,
    );
    const group = h("div", { class: "frame", dataset: { trigger: String(frame.triggerTs) } }, head);
    box.append(group);
    const points = samples.map(pointOf);
    const ts = points.map((p) => p.ts);
    for (const spec of FRAME_CHARTS) {
      const chart = timeChart(group, {
        title: spec.title,
        unit: spec.unit,
        series: spec.series,
        height: 150,
        sync: `frame-${i}`,
        markers: [{ ts: frame.triggerTs, label: "trigger" }],
      });
      chart.setData([ts, ...spec.series.map((s) => points.map((p) => p[s.key]))]);
      chart.figure.dataset.trigger = String(frame.triggerTs);
      charts.push(chart);
    }
  });
  return charts;
}

/** The case's second freeze frame: the latest capture an engineer ran (evidence.capture, per-field series). */
function drawCapture(box, capture) {
  const charts = [];
  if (!capture) return charts;
  const thinned = capture.ts.length < capture.samples ? ` (${capture.ts.length} kept)` : "";
  const head = h(
    "p",
    { class: "muted" },
    `Capture at ${capture.hz} Hz from `,
    when(capture.startedAt),
    ` · ${capture.samples} samples${thinned}, ${capture.failedReads} failed reads · command ${capture.commandId}`,
  );
  const group = h("div", { class: "frame capture-frame", dataset: { capture: capture.commandId } }, head);
  box.append(group);
  for (const spec of FRAME_CHARTS) {
    const chart = timeChart(group, { title: spec.title, unit: spec.unit, series: spec.series, height: 150, sync: `capture-${capture.commandId}` });
    chart.setData([capture.ts, ...spec.series.map((s) => capture[s.key])]);
    chart.figure.dataset.capture = capture.commandId;
    charts.push(chart);
  }
  return charts;
}

function timelineList(entries) {
  return h(
    "ol",
    { class: "timeline" },
    (entries || []).map((t) =>
      h("li", { dataset: { kind: t.kind } }, when(t.at), el("span", ` ${t.actor}`, "actor"), el("span", ` ${t.kind}`, "kind"), el("div", t.message, "message")),
    ),
  );
}

export function renderCase(page, { id, ctx }) {
  const error = el("p", null, "error");
  error.setAttribute("role", "alert");
  page.replaceChildren(h("h1", { tabindex: "-1" }, "Case"), error);
  let charts = [];
  let stopped = false;

  /** Loads and draws the case; resolves with it (undefined when it could not). */
  async function load() {
    let c;
    try {
      c = await api(`/api/cases/${seg(id)}`);
    } catch (err) {
      if (!stopped && err.status !== 401) error.textContent = err.status === 404 ? `No case ${id} for this token.` : `Could not load the case: ${err.message}`;
      return;
    }
    if (stopped) return;
    for (const chart of charts) chart.destroy();
    const framesBox = el("div", null, "frames");
    const snapshotBox = el("div", null, "cells");
    const limits = limitsFor(ctx.meta, c.evidence.meta?.chemistry);
    const restoreEdits = keepEdits(page);
    const totals = c.costTotals.map((t) => `${t.currency}: company ${fixed(t.company, 2)}, customer ${fixed(t.customer, 2)}`).join(" · ");
    page.replaceChildren(
      h(
        "nav",
        { class: "crumbs", "aria-label": "Breadcrumb" },
        h("a", { href: "#/" }, "Fleet"),
        " › ",
        h("a", { href: packHref(c.siteId, c.packId) }, `${c.siteId} / ${c.packId}`),
        " › case",
      ),
      h(
        "div",
        { class: "page-head case-head", dataset: { caseId: c.id } },
        h("h1", { tabindex: "-1" }, c.title),
        severityTag(c.severity),
        el("span", c.status, "status-tag"),
      ),
      h(
        "p",
        { class: "muted" },
        `${c.ruleId} · opened `,
        when(c.openedAt),
        ` · updated `,
        when(c.updatedAt),
        ` · ${c.occurrences} occurrence${c.occurrences === 1 ? "" : "s"}${c.reopenedCount ? ` · reopened ${c.reopenedCount}×` : ""} · assigned to ${c.assignee || "nobody"}`,
      ),
      error,
      card("Evidence", evidenceFacts(c)),
      card("Freeze frame", framesBox),
      card("At the trigger", snapshotBox),
      card("Work the case", workForms(c, ctx, load)),
      ...(ctx.canWork ? [card("Remote diagnosis", diagnosisPanel({ siteId: c.siteId, packId: c.packId, caseId: c.id }, ctx.me.role))] : []),
      card(
        "Costs",
        c.costLines.length
          ? h(
              "table",
              { id: "cost-lines", class: "responsive" },
              h(
                "thead",
                {},
                h("tr", {}, ...["Category", "Description", "Quantity", "Unit price", "Amount", "Borne by", "Added"].map((t) => h("th", { scope: "col" }, t))),
              ),
              h(
                "tbody",
                {},
                c.costLines.map((l) =>
                  h(
                    "tr",
                    {},
                    h("td", { dataset: { label: "Category" } }, l.category),
                    h("td", { dataset: { label: "Description" } }, l.description),
                    h("td", { class: "num", dataset: { label: "Quantity" } }, String(l.quantity)),
                    h("td", { class: "num", dataset: { label: "Unit price" } }, `${fixed(l.unitPrice, 2)} ${l.currency}`),
                    h("td", { class: "num", dataset: { label: "Amount" } }, `${fixed(l.amount, 2)} ${l.currency}`),
                    h("td", { dataset: { label: "Borne by" } }, l.bearer),
                    h("td", { dataset: { label: "Added" } }, `${l.addedBy}, `, when(l.addedAt)),
                  ),
                ),
              ),
            )
          : notice("No cost lines yet."),
        totals ? h("p", { id: "cost-totals" }, `Totals: ${totals}`) : null,
        ctx.canWork ? costForm(c, load) : null,
      ),
      card(
        "Spare parts",
        c.spareParts.length
          ? h(
              "ul",
              { id: "spare-parts", class: "plain" },
              c.spareParts.map((p) =>
                h(
                  "li",
                  {},
                  `${p.quantity} × ${p.part} for BMS ${p.bmsVersion}${p.description ? ` (${p.description})` : ""}, by ${p.addedBy} `,
                  when(p.addedAt),
                ),
              ),
            )
          : notice("No spare parts requested."),
        ctx.canWork ? partForm(c, load) : null,
      ),
      card("Timeline", timelineList(c.timeline)),
    );
    charts = [...drawFrames(framesBox, c.freezeFrames), ...drawCapture(framesBox, c.evidence.capture)];
    if (c.evidence.sample)
      drawCells(snapshotBox, c.evidence.sample, limits, typeof c.evidence.index === "number" ? { kind: indexKind(c), index: c.evidence.index } : null);
    else snapshotBox.append(notice("No sample: this rule fired on a clock."));
    restoreEdits(page);
    document.body.dataset.caseLoaded = c.id;
    return c;
  }

  const stopCases = ctx.on("case", (e) => {
    if (e.case.id === id) load();
  });
  const stopCommands = ctx.on("command", onCommand);
  let stopWatching = () => {};
  load().then((c) => {
    // The case's events come to its pack's room.
    if (c && !stopped) stopWatching = ctx.watchPack(c.siteId, c.packId);
  });
  return () => {
    stopped = true;
    stopCases();
    stopCommands();
    stopWatching();
    for (const chart of charts) chart.destroy();
  };
}
