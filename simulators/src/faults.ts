import { z } from "zod";
import { bmsProtectionTrip } from "./faults/bms-protection-trip";
import { cellOverVoltage } from "./faults/cell-over-voltage";
import { cellUnderVoltage } from "./faults/cell-under-voltage";
import { communicationLoss } from "./faults/communication-loss";
import type { FaultModule, FaultTarget } from "./faults/fault-module";
import { garbledLink } from "./faults/garbled-link";
import { insulationFault } from "./faults/insulation-fault";
import { internalShort } from "./faults/internal-short";
import { overCurrentSpike } from "./faults/over-current-spike";
import { overTemperature } from "./faults/over-temperature";
import { temperatureSensorFailure } from "./faults/temperature-sensor-failure";
import { thermalRunawayPrecursor } from "./faults/thermal-runaway-precursor";
import { weakCell } from "./faults/weak-cell";

export { CellOverVoltageFault } from "./faults/cell-over-voltage";
export type { FaultModule, FaultTarget } from "./faults/fault-module";
export { OverTemperatureFault } from "./faults/over-temperature";

/**
 * The fault library: one module per kind (`faults/<kind>.ts`: its schema and hooks, see
 * faults/fault-module.ts). Adding a kind is writing its module and listing it here. `Fault` is what
 * callers pass (optional fields may be left out); `ResolvedFault` has the schema defaults filled in.
 * docs/simulators.md "Fault library" says what each one does and which case it should cause.
 */
export const FAULT_MODULES = [
  overTemperature,
  cellOverVoltage,
  cellUnderVoltage,
  weakCell,
  internalShort,
  overCurrentSpike,
  temperatureSensorFailure,
  bmsProtectionTrip,
  thermalRunawayPrecursor,
  communicationLoss,
  garbledLink,
  insulationFault,
] as const;

/** The modules' schemas as the non-empty list a discriminated union takes. */
function schemasOf<const T extends readonly FaultModule[]>(modules: T): [T[number]["schema"], ...T[number]["schema"][]] {
  const [first, ...rest] = modules;
  if (!first) throw new Error("the fault library has no modules");
  return [first.schema, ...rest.map((module) => module.schema)];
}

export const FaultSchema = z.discriminatedUnion("kind", schemasOf(FAULT_MODULES));
export type Fault = z.input<typeof FaultSchema>;
export type ResolvedFault = z.output<typeof FaultSchema>;
export type FaultKind = ResolvedFault["kind"];
export const FAULT_KINDS: readonly FaultKind[] = FAULT_MODULES.map((module) => module.kind);

const MODULE_OF = new Map<string, FaultModule>(FAULT_MODULES.map((module) => [module.kind, module]));

/** The module of a resolved fault's kind. */
export function faultModule(fault: ResolvedFault): FaultModule {
  const module = MODULE_OF.get(fault.kind);
  if (!module) throw new TypeError(`no fault module for kind ${fault.kind}`);
  return module;
}

/** A fault description that does not validate, or names a sensor or cell the pack does not have. */
export class InvalidFaultError extends Error {
  override readonly name = "InvalidFaultError";
  constructor(readonly problems: readonly string[]) {
    super(`invalid fault: ${problems.join("; ")}`);
  }
}

/** The cell or sensor a fault acts on, if any. */
export function faultTarget(fault: ResolvedFault): FaultTarget | undefined {
  return faultModule(fault).target(fault);
}

/** Validates a fault against the schema and the pack's cell count; fills in the defaults. */
export function resolveFault(fault: unknown, cellCount: number): ResolvedFault {
  const parsed = FaultSchema.safeParse(fault);
  if (!parsed.success) {
    throw new InvalidFaultError(parsed.error.issues.map((issue) => `${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`));
  }
  const resolved = parsed.data;
  const target = faultTarget(resolved);
  if (target && target.index >= cellCount) {
    throw new InvalidFaultError([`${target.what}: ${target.index} is out of range, the pack has ${target.what}s 0–${cellCount - 1}`]);
  }
  return resolved;
}
