// Small pieces every screen uses: state and severity tags, BMS code tags, highlighted values.

import { el, h } from "./dom.js";
import { codeKind, SEVERITY_LOOK, STATE_LOOK } from "./format.js";

/** A fleet state tag: a mark, a word and a colour. */
export function stateTag(state) {
  const look = STATE_LOOK[state] ?? { text: state, mark: "?" };
  return h("span", { class: `tag state-${state}` }, h("span", { "aria-hidden": "true" }, look.mark), ` ${look.text}`);
}

export function severityTag(severity) {
  const look = SEVERITY_LOOK[severity] ?? { text: severity, mark: "?" };
  return h("span", { class: `tag sev-${severity}` }, h("span", { "aria-hidden": "true" }, look.mark), ` ${look.text}`);
}

/** BMS codes: alarms filled with ✖, warnings outlined with ▲. */
export function codeTags(codes) {
  const box = el("span", null, "codes");
  for (const code of codes || []) {
    const kind = codeKind(code);
    box.append(
      h(
        "span",
        { class: `code code-${kind}`, title: kind === "alarm" ? "BMS alarm" : "BMS warning" },
        h("span", { "aria-hidden": "true" }, kind === "alarm" ? "✖ " : "▲ "),
        code,
      ),
    );
  }
  return box;
}

const SHOWN_AS = { warning: "warn", minor: "warn", major: "alarm", critical: "alarm" };

/** "alarm", "warn" or "": the worst rule level the value is past (levels from GET /api/meta). */
export function levelOf(value, levels) {
  if (typeof value !== "number" || !Number.isFinite(value) || !levels) return "";
  let shown = "";
  for (const l of levels) {
    const past = l.direction === "above" ? value > l.threshold : value < l.threshold;
    if (!past) continue;
    if (SHOWN_AS[l.severity] === "alarm") return "alarm";
    shown = "warn";
  }
  return shown;
}

/** A value with its level: coloured, and marked in words for whoever cannot see the colour. */
export function levelled(text, level, tag = "span") {
  const node = el(tag, null, level || "");
  node.append(document.createTextNode(text));
  if (level)
    node.append(
      h("span", { class: "level-mark", title: level === "alarm" ? "past an alarm level" : "past a warning level" }, level === "alarm" ? " ✖" : " ▲"),
      el("span", level === "alarm" ? " (alarm)" : " (warning)", "sr-only"),
    );
  return node;
}

/** The limits of the pack's chemistry (GET /api/meta). */
export function limitsFor(meta, chemistry) {
  return meta?.limits?.[chemistry || meta?.defaultChemistry] || {};
}

/** A message line that screen readers announce. */
export function notice(text, kind = "muted") {
  return h("p", { class: kind, role: kind === "error" ? "alert" : "status" }, text);
}
