import type { BmsAlarmCode } from "@bms/shared";
import { z } from "zod";

/** The protections a BMS trips on; each opens the contactor and latches its Evt1 alarm bit. */
export const ProtectionNameSchema = z.enum([
  "over-voltage",
  "under-voltage",
  "over-temperature",
  "under-temperature",
  "over-charge-current",
  "over-discharge-current",
  "insulation",
]);
export type ProtectionName = z.infer<typeof ProtectionNameSchema>;

interface ProtectionSpec {
  alarm: BmsAlarmCode;
  warning: BmsAlarmCode;
  /** The alarm condition must hold this long before the BMS trips, s (filters spikes). */
  delayS: number;
}

export const PROTECTIONS: Readonly<Record<ProtectionName, ProtectionSpec>> = {
  "over-voltage": { alarm: "OVER_VOLT_ALARM", warning: "OVER_VOLT_WARNING", delayS: 1 },
  "under-voltage": { alarm: "UNDER_VOLT_ALARM", warning: "UNDER_VOLT_WARNING", delayS: 1 },
  "over-temperature": { alarm: "OVER_TEMP_ALARM", warning: "OVER_TEMP_WARNING", delayS: 2 },
  "under-temperature": { alarm: "UNDER_TEMP_ALARM", warning: "UNDER_TEMP_WARNING", delayS: 2 },
  "over-charge-current": { alarm: "OVER_CHARGE_CURRENT_ALARM", warning: "OVER_CHARGE_CURRENT_WARNING", delayS: 1 },
  "over-discharge-current": { alarm: "OVER_DISCHARGE_CURRENT_ALARM", warning: "OVER_DISCHARGE_CURRENT_WARNING", delayS: 1 },
  insulation: { alarm: "GROUND_FAULT", warning: "OTHER_WARNING", delayS: 5 },
};

const NAMES = ProtectionNameSchema.options;

/** Live conditions the BMS sees in one evaluation. */
export interface ProtectionConditions {
  warning: Readonly<Record<ProtectionName, boolean>>;
  alarm: Readonly<Record<ProtectionName, boolean>>;
  /** Non-tripping warnings (imbalance, a failed sensor) reported while true. */
  extraWarnings: readonly BmsAlarmCode[];
  /** Temperature imbalance alarm: latches like an alarm but does not open the contactor. */
  temperatureImbalanceAlarm: boolean;
}

/**
 * Trip timers and latches. Warnings follow the live condition; an alarm condition held for the
 * protection's delay trips (latches) it; a latched protection clears only after a reset request
 * and once its condition has gone, as AlmRst works on a real BMS.
 */
export class ProtectionLatch {
  private readonly heldS = new Map<ProtectionName, number>();
  private readonly tripped = new Set<ProtectionName>();
  private imbalanceLatched = false;
  private resetRequested = false;
  private last: ProtectionConditions | undefined;

  /** Feeds one evaluation; `dtSeconds` 0 re-evaluates without advancing the delay timers. */
  update(conditions: ProtectionConditions, dtSeconds: number): void {
    this.last = conditions;
    for (const name of NAMES) {
      const held = conditions.alarm[name] ? (this.heldS.get(name) ?? 0) + dtSeconds : 0;
      this.heldS.set(name, held);
      // 1e-9: sub-steps add up to the delay in floating point.
      if (conditions.alarm[name] && held >= PROTECTIONS[name].delayS - 1e-9) this.tripped.add(name);
    }
    if (conditions.temperatureImbalanceAlarm) this.imbalanceLatched = true;
    if (this.resetRequested) {
      for (const name of [...this.tripped]) if (!conditions.alarm[name]) this.tripped.delete(name);
      if (this.imbalanceLatched && !conditions.temperatureImbalanceAlarm) this.imbalanceLatched = false;
      if (this.tripped.size === 0 && !this.imbalanceLatched) this.resetRequested = false;
    }
  }

  /** Forces a trip now (a bms-protection-trip fault that holds for longer than the delay does the same). */
  trip(name: ProtectionName): void {
    this.tripped.add(name);
  }

  requestReset(): void {
    this.resetRequested = true;
    if (this.last) this.update(this.last, 0);
  }

  trips(): ProtectionName[] {
    return NAMES.filter((name) => this.tripped.has(name));
  }

  isTripped(): boolean {
    return this.tripped.size > 0;
  }

  /** Evt1 codes reported now: live warnings and latched alarms (unordered; encode with alarmsToEvt1). */
  reported(): BmsAlarmCode[] {
    const codes = new Set<BmsAlarmCode>();
    const c = this.last;
    if (c) {
      for (const name of NAMES) if (c.warning[name]) codes.add(PROTECTIONS[name].warning);
      for (const code of c.extraWarnings) codes.add(code);
    }
    for (const name of this.tripped) codes.add(PROTECTIONS[name].alarm);
    if (this.imbalanceLatched) codes.add("TEMPERATURE_IMBALANCE_ALARM");
    return [...codes];
  }
}
