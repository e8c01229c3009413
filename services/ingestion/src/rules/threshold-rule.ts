import type { PackSample, Severity } from "@bms/shared";
import { packKey, type RuleTransition, type SampleRule } from "./rule";

export interface ThresholdRuleSettings {
  enabled: boolean;
  /** Fires above this… */
  threshold: number;
  /** …and clears only below this (hysteresis). */
  clearBelow: number;
  /** Consecutive samples above threshold before it fires (debounce: one bad sample fires nothing). */
  debounceSamples: number;
  severity: Severity;
}

export interface ThresholdRuleSpec {
  id: string;
  title: string;
  /** The worst value of a sample and where it is (cell or sensor index); null when the sample has none. */
  worst(sample: PackSample): { value: number; index: number } | null;
  /** One sentence for the case evidence. */
  describe(value: number, index: number, threshold: number, samples: number): string;
}

interface ThresholdState {
  consecutiveOver: number;
  active: boolean;
}

/** Debounce + hysteresis over "the worst value of the sample", per pack. */
export function createThresholdRule(spec: ThresholdRuleSpec, settings: ThresholdRuleSettings): SampleRule {
  const states = new Map<string, ThresholdState>();
  return {
    id: spec.id,
    enabled: settings.enabled,
    evaluate(siteId, packId, sample): RuleTransition | null {
      const key = packKey(siteId, packId);
      let state = states.get(key);
      if (!state) {
        state = { consecutiveOver: 0, active: false };
        states.set(key, state);
      }
      const worst = spec.worst(sample);
      if (worst === null) return null;
      if (worst.value > settings.threshold) {
        state.consecutiveOver++;
        if (state.active || state.consecutiveOver < settings.debounceSamples) return null;
        state.active = true;
        return {
          type: "fired",
          siteId,
          packId,
          ruleId: spec.id,
          severity: settings.severity,
          title: spec.title,
          evidence: {
            sample,
            value: worst.value,
            threshold: settings.threshold,
            index: worst.index,
            detail: spec.describe(worst.value, worst.index, settings.threshold, state.consecutiveOver),
          },
          at: sample.ts,
        };
      }
      state.consecutiveOver = 0;
      if (state.active && worst.value < settings.clearBelow) {
        state.active = false;
        return { type: "cleared", siteId, packId, ruleId: spec.id, at: sample.ts };
      }
      return null;
    },
    reset(siteId, packId) {
      states.delete(packKey(siteId, packId));
    },
  };
}

/** The largest value and its index; null for an empty array. */
export function maxWithIndex(values: readonly number[]): { value: number; index: number } | null {
  let index = -1;
  let value = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== undefined && v > value) {
      value = v;
      index = i;
    }
  }
  return index < 0 ? null : { value, index };
}
