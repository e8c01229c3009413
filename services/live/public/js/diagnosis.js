// Remote-diagnosis panel of a case (docs/remote-diagnosis.md): read the BMS's event log, reset its
// alarms, capture at a higher rate, change a writable setting (admins); each command's status
// follows socket.io `command` events. Text only through textContent.

import { api } from "./api.js";
import { el } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const FINAL = new Set(["succeeded", "failed", "expired", "refused"]);
/** caseId (or "site/pack" on the pack page) -> the panel's element (kept across re-renders) and its state. */
const panels = new Map();
/** command id -> the panel that sent it. */
const owners = new Map();

function button(label, action, onClick) {
  const b = el("button", label);
  b.type = "button";
  b.dataset.action = action;
  b.addEventListener("click", (ev) => {
    ev.stopPropagation();
    onClick();
  });
  return b;
}

function numberInput(name, value, min, max, step) {
  const input = el("input");
  Object.assign(input, { type: "number", name, value: String(value), min: String(min), max: String(max), step: String(step) });
  input.addEventListener("click", (ev) => ev.stopPropagation());
  return input;
}

// ---- results -------------------------------------------------------------------------
function eventLogTable(history) {
  const wrap = el("div", null, "diag-result");
  wrap.dataset.result = "read-event-log";
  const counters = Object.entries(history.counters || {});
  wrap.append(el("p", `${history.events.length} events (${history.totalEvents ?? "?"} logged in all, ring of ${history.capacity})`, "muted"));
  if (counters.length) wrap.append(el("p", `Counters: ${counters.map(([k, v]) => `${k} ${v}`).join(" · ")}`));
  const table = el("table", null, "event-log");
  const head = el("tr");
  for (const h of ["Time", "Event", "Value"]) head.append(el("th", h));
  table.append(el("thead"), el("tbody"));
  table.tHead.append(head);
  for (const e of [...history.events].reverse()) {
    const tr = el("tr");
    tr.append(el("td", e.at ? new Date(e.at).toLocaleString() : "clock not set"), el("td", e.code));
    tr.append(el("td", e.value === null ? "–" : `${e.value}${e.unit ? ` ${e.unit}` : ""}`, "num"));
    table.tBodies[0].append(tr);
  }
  wrap.append(table);
  return wrap;
}

/** Pack voltage and current over the capture, each scaled to the chart's height. */
function captureChart(result) {
  const wrap = el("div", null, "diag-result");
  wrap.dataset.result = "capture";
  const frame = result.frame || [];
  wrap.append(el("p", `${frame.length} samples at ${result.hz} Hz (${result.failedReads} failed reads)`, "muted"));
  if (frame.length < 2) return wrap;
  const width = 600;
  const height = 160;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "capture-chart");
  svg.setAttribute("role", "img");
  const t0 = frame[0].ts;
  const span = Math.max(1, frame[frame.length - 1].ts - t0);
  for (const [field, colour] of [
    ["packVoltage", "#1f6feb"],
    ["current", "#d1242f"],
  ]) {
    const values = frame.map((s) => s[field]);
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    const points = frame.map((s, i) => `${((s.ts - t0) / span) * width},${height - 5 - ((values[i] - lo) / (hi - lo || 1)) * (height - 10)}`);
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", points.join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", colour);
    line.dataset.field = field;
    svg.append(line);
    wrap.append(el("span", `${field}: ${lo.toFixed(2)} – ${hi.toFixed(2)}`, "muted legend"));
  }
  svg.append(Object.assign(document.createElementNS(SVG, "title"), { textContent: "Pack voltage (blue) and current (red) during the capture" }));
  wrap.prepend(svg);
  return wrap;
}

function resultView(record) {
  const r = record.result;
  if (record.status !== "succeeded") return el("p", `${record.status}: ${record.error || ""}`, "error");
  switch (record.kind) {
    case "read-event-log":
      return eventLogTable(r);
    case "capture":
      return captureChart(r);
    case "reset-alarms":
      return el("p", `Alarms before: ${r.before.join(", ") || "none"} · after: ${r.after.join(", ") || "none"}`, "diag-result");
    case "set-parameter":
      return el("p", `${r.name}: ${r.before ?? "?"} → ${r.after ?? "?"}${r.unit ? ` ${r.unit}` : ""} (asked ${r.requested})`, "diag-result");
  }
  return el("p", "");
}

// ---- commands ------------------------------------------------------------------------
function renderStatus(panel, record) {
  let row = panel.list.querySelector(`[data-command="${CSS.escape(record.id)}"]`);
  if (!row) {
    row = el("li");
    row.dataset.command = record.id;
    row.append(el("span", record.kind, "diag-kind"), el("span", "", "diag-status"), el("div"));
    panel.list.prepend(row);
  }
  row.dataset.status = record.status;
  row.querySelector(".diag-status").textContent = record.status;
  return row;
}

async function finished(panel, id) {
  // The socket event leaves a capture's samples out: the record has them.
  const record = await api(`/api/commands/${encodeURIComponent(id)}`);
  renderStatus(panel, record).lastChild.replaceChildren(resultView(record));
  if (record.kind === "set-parameter") loadParameters(panel);
}

async function send(panel, body) {
  panel.error.textContent = "";
  try {
    const { id, status } = await api(`/api/packs/${encodeURIComponent(panel.siteId)}/${encodeURIComponent(panel.packId)}/commands`, {
      method: "POST",
      body: JSON.stringify({ ...body, caseId: panel.caseId }),
    });
    owners.set(id, panel);
    renderStatus(panel, { id, kind: body.kind, status });
    // Socket events may be missed (a reconnect): poll until the command is final.
    const poll = setInterval(async () => {
      const record = await api(`/api/commands/${encodeURIComponent(id)}`).catch(() => null);
      if (!record) return;
      if (FINAL.has(record.status)) clearInterval(poll);
      onCommand(record);
    }, 2000);
  } catch (err) {
    panel.error.textContent = `Not sent: ${err.message}`;
  }
}

/** A socket.io `command` event (a CommandRecord without a capture's samples). */
export function onCommand(record) {
  const panel = owners.get(record.id);
  if (!panel) return;
  const row = panel.list.querySelector(`[data-command="${CSS.escape(record.id)}"]`);
  if (row && FINAL.has(row.dataset.status)) return;
  // A final status shows with its result (fetched), so "succeeded" always comes with what it found.
  if (FINAL.has(record.status)) finished(panel, record.id).catch((err) => (panel.error.textContent = err.message));
  else renderStatus(panel, record);
}

async function loadParameters(panel) {
  const form = panel.parameters;
  try {
    const report = await api(`/api/packs/${encodeURIComponent(panel.siteId)}/${encodeURIComponent(panel.packId)}/parameters`);
    const select = el("select");
    select.name = "parameter";
    select.addEventListener("click", (ev) => ev.stopPropagation());
    for (const p of report.parameters) {
      const option = el("option", `${p.name} (${p.min}–${p.max}${p.unit ? ` ${p.unit}` : ""}; now ${p.value ?? "?"})`);
      option.value = p.name;
      select.append(option);
    }
    const value = numberInput("value", report.parameters[0]?.value ?? 0, -1e9, 1e9, "any");
    const pick = () => {
      const p = report.parameters.find((x) => x.name === select.value);
      if (!p) return;
      Object.assign(value, { min: String(p.min), max: String(p.max), value: String(p.value ?? p.min) });
    };
    select.addEventListener("change", pick);
    pick();
    const apply = button("Change setting", "set-parameter", () => {
      const p = report.parameters.find((x) => x.name === select.value);
      const v = Number(value.value);
      if (!p || !Number.isFinite(v)) return;
      if (v < p.min || v > p.max) {
        panel.error.textContent = `${p.name} must lie within ${p.min}–${p.max}${p.unit ? ` ${p.unit}` : ""}.`;
        return;
      }
      if (!window.confirm(`Write ${p.name} = ${v}${p.unit ? ` ${p.unit}` : ""} (now ${p.value ?? "?"}) to pack ${panel.siteId}/${panel.packId}?`)) return;
      send(panel, { kind: "set-parameter", params: { name: p.name, value: v } });
    });
    apply.disabled = !report.writesEnabled;
    form.replaceChildren(el("span", "Setting", "muted"), select, value, apply);
    if (!report.writesEnabled) form.append(el("span", "this site's agent does not change settings", "muted"));
  } catch (err) {
    form.replaceChildren(el("span", `No writable settings: ${err.message}`, "muted"));
  }
}

/**
 * The panel of a case's pack (its commands recorded on the case) or, with no `caseId`, of a pack
 * (from the pack page); built once, then moved into each re-render of its page.
 */
export function diagnosisPanel({ siteId, packId, caseId }, role) {
  const key = caseId ?? `${siteId}/${packId}`;
  let p = panels.get(key);
  if (p) return p.root;
  const root = el("div", null, "diagnosis");
  root.dataset.diagnosis = key;
  p = { caseId, siteId, packId, root, list: el("ul", null, "diag-commands"), error: el("p", "", "error") };
  const hz = numberInput("hz", 5, 0.1, 10, 0.1);
  const seconds = numberInput("seconds", 10, 1, 120, 1);
  const controls = el("div", null, "actions");
  controls.append(
    button("Read event log", "read-event-log", () => send(p, { kind: "read-event-log" })),
    button("Reset alarms", "reset-alarms", () => send(p, { kind: "reset-alarms" })),
    el("span", "Capture Hz", "muted"),
    hz,
    el("span", "s", "muted"),
    seconds,
    button("Capture", "capture", () => send(p, { kind: "capture", params: { hz: Number(hz.value), seconds: Number(seconds.value) } })),
  );
  p.parameters = el("div", null, "actions");
  root.append(controls);
  if (role === "admin") {
    root.append(p.parameters);
    loadParameters(p);
  }
  root.append(p.error, p.list);
  panels.set(key, p);
  return root;
}
