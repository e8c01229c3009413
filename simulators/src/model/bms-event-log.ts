import type { BmsCounterName, BmsEventCode } from "@bms/shared";
import { PROTECTIONS, type ProtectionName } from "./bms-protection";

/** One event the BMS logged: `n` counts from 0 over the pack's life (its place in a ring is n mod the ring's size). */
export interface LoggedEvent {
  n: number;
  code: BmsEventCode;
  /** Simulated seconds when it was logged. */
  atSeconds: number;
  /** What the BMS measured: V (cell), °C or A; null for events without a value. */
  value: number | null;
}

/** The BMS's own record: its newest events and its lifetime counters. */
export interface BmsRecord {
  /** Events logged in all (the newest `events` are kept). */
  total: number;
  /** Oldest first. */
  events: readonly LoggedEvent[];
  counters: Readonly<Record<BmsCounterName, number>>;
}

/** Events the simulated BMS keeps (a profile's ring may show fewer). */
export const KEPT_EVENTS = 1024;
/** A discharge above this multiple of the continuous rating is a short circuit (counted, logged, at once). */
export const SHORT_CIRCUIT_FACTOR = 5;

const COUNTER_OF: Readonly<Partial<Record<ProtectionName, BmsCounterName>>> = {
  "over-voltage": "overVoltage",
  "under-voltage": "underVoltage",
  "over-temperature": "overTemperature",
  "over-charge-current": "overCurrent",
  "over-discharge-current": "overCurrent",
};

/** What the BMS measured at one evaluation. */
export interface Measured {
  voltages: readonly number[];
  sensors: readonly number[];
  /** A, + charging. */
  current: number;
}

/**
 * The BMS's event log and lifetime counters, as a Pylontech or Orion BMS keeps them: every trip
 * (with the value that tripped it), every short circuit, every alarm reset; counts of over-/under-
 * voltage, over-temperature, over-current and short-circuit events; the lowest cell voltage and the
 * highest temperature ever measured. Pure: fed by the pack model after each evaluation.
 */
export class BmsEventLog {
  private readonly events: LoggedEvent[] = [];
  private total = 0;
  private readonly counters: Record<BmsCounterName, number> = {
    overVoltage: 0,
    underVoltage: 0,
    overTemperature: 0,
    overCurrent: 0,
    shortCircuit: 0,
    deepestDischargeV: Number.POSITIVE_INFINITY,
    highestTemperatureC: Number.NEGATIVE_INFINITY,
  };
  private tripped = new Set<ProtectionName>();
  private shorted = false;

  constructor(private readonly ratedDischargeA: number) {}

  /** After an evaluation: new trips and short circuits are logged and counted, extremes kept. */
  observe(atSeconds: number, trips: readonly ProtectionName[], m: Measured): void {
    const minV = Math.min(...m.voltages);
    const maxT = Math.max(...m.sensors);
    if (minV < this.counters.deepestDischargeV) this.counters.deepestDischargeV = minV;
    if (maxT > this.counters.highestTemperatureC) this.counters.highestTemperatureC = maxT;
    const now = new Set(trips);
    for (const name of trips) {
      if (this.tripped.has(name)) continue;
      const counter = COUNTER_OF[name];
      if (counter) this.counters[counter] += 1;
      this.log(PROTECTIONS[name].alarm, atSeconds, tripValue(name, m, minV, maxT));
    }
    this.tripped = now;
    const short = -m.current > SHORT_CIRCUIT_FACTOR * this.ratedDischargeA;
    if (short && !this.shorted) {
      this.counters.shortCircuit += 1;
      this.log("SHORT_CIRCUIT", atSeconds, -m.current);
    }
    this.shorted = short;
  }

  /** AlmRst: the reset is logged too. */
  alarmsReset(atSeconds: number): void {
    this.log("ALARMS_RESET", atSeconds, null);
  }

  record(): BmsRecord {
    return { total: this.total, events: [...this.events], counters: { ...this.counters } };
  }

  private log(code: BmsEventCode, atSeconds: number, value: number | null): void {
    this.events.push({ n: this.total, code, atSeconds, value });
    this.total += 1;
    if (this.events.length > KEPT_EVENTS) this.events.shift();
  }
}

function tripValue(name: ProtectionName, m: Measured, minV: number, maxT: number): number | null {
  switch (name) {
    case "over-voltage":
      return Math.max(...m.voltages);
    case "under-voltage":
      return minV;
    case "over-temperature":
      return maxT;
    case "under-temperature":
      return Math.min(...m.sensors);
    case "over-charge-current":
    case "over-discharge-current":
      return Math.abs(m.current);
    case "insulation":
      return null;
  }
}
