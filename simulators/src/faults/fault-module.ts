import { z } from "zod";
import type { LinkCondition } from "../link-condition";
import type { ProtectionName } from "../model/bms-protection";

/**
 * A fault kind is one module: the zod schema of its entry in a scenario file (and of a control
 * request), and the hooks an injected fault of that kind implements. The pack model calls the
 * hooks of every active fault, in the order they were injected, at fixed points of each sub-step;
 * it knows no kind by name. `t` is always the simulated seconds the fault has been acting (its
 * `startAfterS` already taken off); a hook is called only once `t` ≥ 0.
 */

/** Cell or sensor index in a pack (checked against the pack's own count when injected). */
export const Index = z.number().int().min(0).max(4095);
/** Simulated seconds after injection before the fault acts. @default 0 */
export const StartAfterS = z.number().min(0).max(1e9).optional();
export const DurationS = z.number().positive().max(1e9);

/** The share of its full effect a fault that develops over `rampS` seconds has reached at `t`. */
export function rampShare(t: number, rampS: number): number {
  return rampS > 0 ? Math.min(1, t / rampS) : 1;
}

/** Every fault entry: a `kind` literal, `startAfterS`, and its own fields; unknown fields are errors. */
export type FaultEntrySchema = z.ZodObject<{ kind: z.ZodLiteral<string>; startAfterS: typeof StartAfterS } & z.ZodRawShape, z.core.$strict>;

/** What the hooks of a fault see of its pack. */
export interface FaultPack {
  /** Rated capacity of the pack (all strings), Ah. */
  readonly capacityAh: number;
  /** The insulation resistance the pack has without faults, kΩ. */
  readonly healthyInsulationKOhm: number;
  /** A, + charging, flowing now. */
  readonly current: number;
  /** True cell temperatures now, °C (one sensor per cell). */
  readonly temperatures: readonly number[];
}

/** Per-cell effects on the cell physics, rebuilt every sub-step from the faults' times alone. */
export interface CellEffects {
  /** Multiplies the cell's capacity. */
  capacityFactor: number[];
  /** Multiplies the cell's internal resistance. */
  resistanceFactor: number[];
  /** A drained from the cell inside it (it also heats the cell). */
  leakA: number[];
}

/** Effects on what the BMS measures and decides, rebuilt every sub-step. */
export interface BmsEffects {
  /** Protections whose alarm condition holds whatever the readings. */
  forced: Set<ProtectionName>;
  /** Insulation resistance the BMS measures, kΩ (starts at the healthy value). */
  insulationKOhm: number;
}

/** The hooks one injected fault implements; every one is optional. Its state lives in the object. */
export interface FaultHooks {
  /** Cell physics, at the start of each sub-step: scale a cell's capacity or resistance, add a leak. */
  cells?(t: number, fx: CellEffects): void;
  /** The load, at the start of each sub-step: a current (A, + charging) drawn whatever the BMS allows; the last fault to return one wins. */
  loadCurrentA?(t: number, pack: FaultPack): number | undefined;
  /** The BMS, at the start of each sub-step: force a protection, lower the measured insulation. */
  bms?(t: number, fx: BmsEffects, pack: FaultPack): void;
  /**
   * Cell physics over one sub-step, after the thermal step: `t` at the sub-step's end, `dt` the part
   * of it the fault acted. May heat `temperatures` (the true cell temperatures) in place.
   */
  integrate?(t: number, dt: number, temperatures: number[], pack: FaultPack): void;
  /** What the BMS measures: the cell voltages (OCV + I·R), changed in place. */
  cellVoltages?(t: number, voltages: number[], pack: FaultPack): void;
  /** What the BMS measures: the temperature sensors, changed in place; `previous` holds the last readings. */
  sensorReadings?(t: number, readings: number[], previous: readonly number[]): void;
  /** The link: how the device answers now (undefined: this fault leaves it alone). */
  link?(t: number): LinkCondition | undefined;
}

/** The cell or sensor a fault acts on (validated against the pack when injected). */
export interface FaultTarget {
  what: "cell" | "sensor";
  index: number;
}

/** What a module implements for its kind; `F` is its schema's output (defaults filled in). */
export interface FaultBehaviour<F> {
  /** The cell or sensor it acts on, if any. */
  target?(fault: F): FaultTarget | undefined;
  /** While a fault of this kind is present (even before it acts), the BMS measures and reports insulation. */
  measuresInsulation?: boolean;
  /** A fresh injection: its own state and hooks. */
  activate(fault: F): FaultHooks;
}

/** A resolved fault of any kind, as the registry sees it. */
export interface AnyFault {
  readonly kind: string;
  readonly startAfterS?: number | undefined;
}

/** A registered fault kind (see defineFault). */
export interface FaultModule<S extends FaultEntrySchema = FaultEntrySchema> {
  readonly kind: S["shape"]["kind"]["value"];
  readonly schema: S;
  readonly measuresInsulation: boolean;
  target(fault: AnyFault): FaultTarget | undefined;
  activate(fault: AnyFault): FaultHooks;
}

/** A fault kind from its entry schema and behaviour; the registry (faults.ts) lists the modules. */
export function defineFault<S extends FaultEntrySchema>(schema: S, behaviour: FaultBehaviour<z.output<S>>): FaultModule<S> {
  const kind: S["shape"]["kind"]["value"] = schema.shape.kind.value;
  const owns = (fault: AnyFault): fault is AnyFault & z.output<S> => fault.kind === kind;
  return {
    kind,
    schema,
    measuresInsulation: behaviour.measuresInsulation ?? false,
    target: (fault) => (owns(fault) ? behaviour.target?.(fault) : undefined),
    activate(fault) {
      if (!owns(fault)) throw new TypeError(`a ${fault.kind} fault was handed to the ${kind} module`);
      return behaviour.activate(fault);
    },
  };
}
