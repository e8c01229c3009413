import { BmsAlarmCode } from "@bms/shared";
import { z } from "zod";
import type { PackObservation } from "../pack-observation";
import { type RuleStep, seconds, stepOf, type Trigger } from "../rule-step";
import { defineKind, type RuleOf, type SampleContext } from "./kind-module";

type Rule = RuleOf<"bms-alarm">;

const BmsAlarmState = z.object({
  /** Code → ts it was first reported (this time). */
  onset: z.partialRecord(BmsAlarmCode, z.number()),
  /** Codes already turned into a firing while they last. */
  handled: z.array(BmsAlarmCode),
});
type BmsAlarmState = z.infer<typeof BmsAlarmState>;

/**
 * The BMS's own alarm codes: each configured code that holds confirmS becomes one firing, with the
 * rules of its `explainedBy` that fired on the pack (then the engine records it on their case
 * instead of a case of its own). A code that goes away and comes back is a new firing.
 */
function evaluateBmsAlarm(rule: Rule, obs: PackObservation, state: BmsAlarmState, context: SampleContext): RuleStep {
  let hard = false;
  const triggers: Trigger[] = [];
  const configured = (code: BmsAlarmCode) => rule.codes[code] !== undefined && rule.codes[code] !== null;
  for (const code of obs.alarms) {
    if (configured(code) && state.onset[code] === undefined) {
      state.onset[code] = obs.ts;
      hard = true;
    }
  }
  for (const code of Object.keys(state.onset) as BmsAlarmCode[]) {
    if (obs.alarms.has(code)) continue;
    delete state.onset[code];
    state.handled = state.handled.filter((c) => c !== code);
    hard = true;
  }
  for (const [code, since] of Object.entries(state.onset) as [BmsAlarmCode, number][]) {
    const entry = rule.codes[code];
    if (!entry || state.handled.includes(code) || obs.ts - since < (entry.confirmS ?? rule.confirmS) * 1000) continue;
    state.handled.push(code);
    hard = true;
    const explainers = entry.explainedBy.filter((id) => context.firedRecently(id, obs.ts));
    triggers.push({
      severity: entry.severity,
      since,
      at: obs.ts,
      value: null,
      threshold: null,
      index: null,
      codes: [code],
      explainedBy: explainers,
      keyPart: code,
      independent: true,
      detail: `The BMS has reported ${code} for ${seconds(obs.ts - since)}${explainers.length > 0 ? ` (explained by ${explainers.join(", ")})` : ", and no measured condition explains it"}.`,
    });
  }
  return stepOf(triggers, state.handled.length > 0, hard);
}

export const bmsAlarmKind = defineKind({
  kinds: ["bms-alarm"],
  state: BmsAlarmState,
  newState: (): BmsAlarmState => ({ onset: {}, handled: [] }),
  newScratch: () => undefined,
  instance: (rule, state) => ({ sample: (obs, context) => evaluateBmsAlarm(rule, obs, state, context) }),
});
