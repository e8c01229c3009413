import type { PlausibilityLimits } from "./pack-observation";
import type { ResolvedRules } from "./rule-book";

/** Without a sensor-fault rule: rails a thermistor or voltage tap reads only when it is broken. */
const DEFAULT_LIMITS: PlausibilityLimits = {
  temperatureRailLowC: -39,
  temperatureRailHighC: 124,
  maxStepCPerS: 5,
  cellVoltageRailLowV: 0.5,
  cellVoltageRailHighV: 4.9,
};

/** The plausibility filter's limits for a pack: its sensor-fault rule's, else the defaults. */
export function plausibilityLimits(resolved: ResolvedRules): PlausibilityLimits {
  for (const rule of resolved.byId.values()) if (rule.kind === "sensor-fault") return rule;
  return DEFAULT_LIMITS;
}
