// Numbers, times and the words of states: one place, so every screen reads the same.

export function fixed(value, digits) {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "–";
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });

/** A date in the browser's locale; the ISO form goes in the element's title and datetime. */
export function when(ms, { timeOnly: short = false } = {}) {
  if (typeof ms !== "number") return document.createTextNode("–");
  const node = document.createElement("time");
  const iso = new Date(ms).toISOString();
  node.dateTime = iso;
  node.title = iso;
  node.textContent = (short ? timeOnly : dateTime).format(ms);
  return node;
}

/** "12 s ago", "5 min ago", or the date. */
export function ago(ms, now = Date.now()) {
  if (typeof ms !== "number") return "never";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return dateTime.format(ms);
}

/** "2 min 5 s", "3 h 10 min". */
export function duration(ms) {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

/** Cells and sensors are numbered from 1, as on the device label: index 3 is "cell 4". */
export function cellName(index, kind = "cell") {
  return typeof index === "number" ? `${kind} ${index + 1}` : kind;
}

/** The words and marks of a fleet state or a case severity: a shape and a word, never colour alone. */
export const STATE_LOOK = {
  critical: { text: "Critical", mark: "✖" },
  warning: { text: "Warning", mark: "▲" },
  offline: { text: "Offline", mark: "○" },
  healthy: { text: "Healthy", mark: "✔" },
};
export const SEVERITY_LOOK = {
  critical: { text: "critical", mark: "✖" },
  major: { text: "major", mark: "✖" },
  minor: { text: "minor", mark: "▲" },
  warning: { text: "warning", mark: "▲" },
};

/** BMS codes are alarms or warnings by name (SunSpec 802 Evt1 names end in _ALARM or _WARNING). */
export function codeKind(code) {
  return /WARN/.test(code) ? "warning" : "alarm";
}
