import { z } from "zod";
import type { PackObservation } from "../pack-observation";
import { type RuleStep, seconds, steady } from "../rule-step";
import { defineKind, type RuleOf } from "./kind-module";
import { describeValue } from "./threshold";

const RepeatingState = z.object({
  /** Back past `clear` since the last start: the next crossing counts. */
  armed: z.boolean(),
  /** ts of each start within the window. */
  starts: z.array(z.number()).max(100_000),
  a: z.boolean(),
});
type RepeatingState = z.infer<typeof RepeatingState>;

/** A condition that started `count` times within `windowS` (ThingsBoard's "repeating" alarm). */
function evaluateRepeating(rule: RuleOf<"repeating">, obs: PackObservation, state: RepeatingState): RuleStep {
  const seen = obs.matches(rule.when) ? obs.metric(rule.metric) : null;
  const above = rule.direction === "above";
  let hard = false;
  if (seen !== null) {
    const v = seen.value;
    if (state.armed && (above ? v > rule.threshold : v < rule.threshold)) {
      state.starts.push(obs.ts);
      state.armed = false;
      hard = true;
    } else if (!state.armed && (above ? v < rule.clear : v > rule.clear)) {
      state.armed = true;
      hard = true;
    }
  }
  const from = obs.ts - rule.windowS * 1000;
  const kept = state.starts.filter((t) => t > from);
  if (kept.length !== state.starts.length) {
    state.starts = kept;
    hard = true;
  }
  if (!state.a && kept.length >= rule.count) {
    state.a = true;
    const first = kept[0] ?? obs.ts;
    return {
      triggers: [
        {
          severity: rule.severity,
          since: first,
          at: obs.ts,
          value: kept.length,
          threshold: rule.count,
          index: seen?.index ?? null,
          detail: `${kept.length} times in ${seconds(obs.ts - first)} the value went ${above ? "above" : "below"} ${rule.threshold} (the limit is ${rule.count} in ${rule.windowS} s)${seen ? `; now: ${describeValue(rule.metric, seen.value, seen.index, obs)}` : ""}.`,
        },
      ],
      active: true,
      hard: true,
    };
  }
  if (state.a && kept.length === 0 && state.armed) {
    state.a = false;
    hard = true;
  }
  return steady(state.a, hard);
}

export const repeatingKind = defineKind({
  kinds: ["repeating"],
  state: RepeatingState,
  newState: (): RepeatingState => ({ armed: true, starts: [], a: false }),
  newScratch: () => undefined,
  instance: (rule, state) => ({ sample: (obs) => evaluateRepeating(rule, obs, state) }),
});
