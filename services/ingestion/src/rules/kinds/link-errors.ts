import { z } from "zod";
import { type RuleStep, round, seconds } from "../rule-step";
import { type DeviceCounters, defineKind, type RuleOf } from "./kind-module";

const LinkErrorsState = z.object({ a: z.boolean() });
type LinkErrorsState = z.infer<typeof LinkErrorsState>;

/** In memory: the agent's counters at each status within the window, oldest first. */
interface LinkHistory {
  points: { ts: number; polls: number; errors: number }[];
}

/** Failed polls ÷ polls over the window, from the agent's counters. */
function onDeviceStatus(rule: RuleOf<"link-errors">, state: LinkErrorsState, history: LinkHistory, device: DeviceCounters, ts: number): RuleStep | null {
  const points = history.points;
  const last = points[points.length - 1];
  // A flaky link still gets a poll through now and then; a device that answers nothing since the
  // last status is communication loss, the no-data rule's case, not this one's.
  const stillAnswers = device.lastOkTs !== undefined && (last === undefined || device.lastOkTs > last.ts);
  if (last && (device.polls < last.polls || device.errors < last.errors)) points.length = 0; // the agent restarted
  if (!last || ts > last.ts) points.push({ ts, polls: device.polls, errors: device.errors });
  const from = ts - rule.windowS * 1000;
  while (points.length > 1 && (points[1] as { ts: number }).ts <= from) points.shift();
  const base = points[0];
  const now = points[points.length - 1];
  if (!base || !now || base === now) return null;
  const polls = now.polls - base.polls;
  const errors = now.errors - base.errors;
  if (polls < rule.minPolls) return null;
  const ratio = errors / polls;
  if (!state.a && ratio >= rule.errorRatio && stillAnswers) {
    state.a = true;
    const detail = `${errors} of ${polls} polls failed in ${seconds(now.ts - base.ts)} (${round(ratio * 100, 1)} %, limit ${round(rule.errorRatio * 100, 1)} %)${device.lastError ? `; the last error: ${device.lastError}` : ""}.`;
    return {
      triggers: [{ severity: rule.severity, since: base.ts, at: ts, value: round(ratio, 4), threshold: rule.errorRatio, index: null, detail }],
      active: true,
      hard: true,
    };
  }
  if (state.a && ratio < rule.clearRatio) {
    state.a = false;
    return { triggers: [], active: false, hard: true };
  }
  return null;
}

/** The share of failed polls of one device over a window, from the agent's status counters. */
export const linkErrorsKind = defineKind({
  kinds: ["link-errors"],
  state: LinkErrorsState,
  newState: (): LinkErrorsState => ({ a: false }),
  newScratch: (): LinkHistory => ({ points: [] }),
  instance: (rule, state, history) => ({ deviceStatus: (device, ts) => onDeviceStatus(rule, state, history, device, ts) }),
});
