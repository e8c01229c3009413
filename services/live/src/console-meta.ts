import type { RuleBook } from "@bms/ingestion";
import { CASE_TRANSITIONS, CaseStatus, Chemistry, CONSOLE_METRICS, type ConsoleMetric, type LimitLevel, LiveMeta } from "@bms/shared";

/** The button that moves a case to a status; a few moves back read better with their own words. */
const ACTION_LABELS: Readonly<Record<CaseStatus, string>> = {
  open: "Reopen",
  acknowledged: "Acknowledge",
  "remote-diagnosis": "Diagnose remotely",
  "on-site-visit": "Dispatch on-site visit",
  resolved: "Resolved",
  closed: "Close (customer confirmed)",
};
const BACK_LABELS: Readonly<Record<string, string>> = {
  "on-site-visit→remote-diagnosis": "Back to remote diagnosis",
  "resolved→remote-diagnosis": "Fix did not hold",
};

function isConsoleMetric(metric: string): metric is ConsoleMetric {
  return (CONSOLE_METRICS as readonly string[]).includes(metric);
}

/**
 * What the console shows from the server rather than copying it: each chemistry's rule levels over
 * the values it highlights (threshold rules that apply whatever the current, from the same rule
 * book the ingestion loads: shipped defaults plus `rulesFile`), and the case moves of
 * CASE_TRANSITIONS with their button labels. Site and pack sections of a rule file are not
 * reflected: the console highlights by chemistry.
 */
export function consoleMeta(book: RuleBook, grafanaUrl?: string): LiveMeta {
  // No site or pack section can have this key (IDs are [A-Za-z0-9_-]): the rules of a chemistry alone.
  const NO_SITE = "*";
  const limits: Partial<Record<Chemistry, Partial<Record<ConsoleMetric, LimitLevel[]>>>> = {};
  for (const chemistry of Chemistry.options) {
    const resolved = book.resolve(NO_SITE, NO_SITE, chemistry);
    const byMetric: Partial<Record<ConsoleMetric, LimitLevel[]>> = {};
    for (const rule of resolved.rules) {
      if (rule.kind !== "threshold" || rule.when !== "any" || !isConsoleMetric(rule.metric)) continue;
      const levels = byMetric[rule.metric] ?? [];
      byMetric[rule.metric] = levels;
      for (const severity of Object.keys(rule.levels) as Array<keyof typeof rule.levels>) {
        const level = rule.levels[severity];
        if (level) levels.push({ ruleId: rule.id, direction: rule.direction, threshold: level.threshold, severity });
      }
    }
    limits[chemistry] = byMetric;
  }
  const caseActions: Partial<LiveMeta["caseActions"]> = {};
  for (const from of CaseStatus.options) {
    caseActions[from] = CASE_TRANSITIONS[from].map((to) => ({ status: to, label: BACK_LABELS[`${from}→${to}`] ?? ACTION_LABELS[to] }));
  }
  // Checked against its schema once at start: every chemistry and status is there.
  return LiveMeta.parse({
    defaultChemistry: book.resolve(NO_SITE, NO_SITE).chemistry,
    limits,
    caseActions,
    grafanaUrl: grafanaUrl === undefined ? null : grafanaUrl.replace(/\/+$/, ""),
  });
}
