import { z } from "zod";
import { ProtectionNameSchema } from "./model/bms-protection";

/**
 * Faults that can be injected into a simulated pack. `Fault` is what callers pass (optional fields
 * may be left out); `ResolvedFault` has the schema defaults filled in. Every fault takes
 * `startAfterS` (simulated seconds after injection before it acts, @default 0) and an intensity
 * or ramp parameter. docs/simulators.md "Fault library" says what each one does and which case it
 * should cause. Fields added after the first two kinds shipped have no schema default (so those
 * resolve as before); their defaults are applied by the model and documented here.
 */
const Index = z.number().int().min(0).max(4095);
const StartAfterS = z.number().min(0).max(1e9).optional();
const DurationS = z.number().positive().max(1e9);

export const OverTemperatureFault = z
  .object({
    kind: z.literal("over-temperature"),
    /** Temperature sensor (0-based cell index) that climbs. @default 0 */
    sensor: Index.default(0),
    /** °C per simulated second. @default 1 */
    ratePerSecond: z.number().positive().max(100).default(1),
    /** The sensor stops climbing here, °C. @default 80 */
    maxC: z.number().min(-40).max(200).default(80),
    /** `sensor`: one cell heats (a loose busbar, a hot spot); `pack`: every cell (failed cooling, a hot room). @default "sensor" */
    scope: z.enum(["sensor", "pack"]).optional(),
    /** @default 0 */
    startAfterS: StartAfterS,
  })
  .strict();

export const CellOverVoltageFault = z
  .object({
    kind: z.literal("cell-over-voltage"),
    /** Cell (0-based) whose voltage climbs. @default 0 */
    cell: Index.default(0),
    /** V per simulated second. @default 0.005 */
    ratePerSecond: z.number().positive().max(10).default(0.005),
    /** The cell stops climbing here, V. @default 3.9 */
    maxV: z.number().min(0).max(10).default(3.9),
    /** Climb only while the pack charges (a cell running ahead of its neighbours). @default false: climbs always */
    whileCharging: z.boolean().optional(),
    /** @default 0 */
    startAfterS: StartAfterS,
  })
  .strict();

export const CellUnderVoltageFault = z
  .object({
    kind: z.literal("cell-under-voltage"),
    /** Cell (0-based) that sags. @default 0 */
    cell: Index.default(0),
    /** How fast the sag under discharge grows, V per simulated second of discharging. @default 0.005 */
    ratePerSecond: z.number().positive().max(10).default(0.005),
    /** The sagging cell stops falling here, V. @default 2.3 */
    minV: z.number().min(0).max(5).default(2.3),
    /** @default 0 */
    startAfterS: StartAfterS,
  })
  .strict();

export const WeakCellFault = z
  .object({
    kind: z.literal("weak-cell"),
    cell: Index.default(0),
    /** The cell's capacity falls to this fraction of what it was. @default 0.6 */
    capacityFraction: z.number().min(0.05).max(1).default(0.6),
    /** Its internal resistance grows by this factor. @default 2 */
    resistanceFactor: z.number().min(1).max(50).default(2),
    /** Seconds over which the fade develops (0: at once). @default 0 */
    rampS: z.number().min(0).max(1e9).default(0),
    startAfterS: StartAfterS,
  })
  .strict();

export const InternalShortFault = z
  .object({
    kind: z.literal("internal-short"),
    cell: Index.default(0),
    /** Current the short drains from the cell, A (it also heats the cell). @default 1 */
    leakageA: z.number().positive().max(1000).default(1),
    /** Seconds over which the short grows to `leakageA`. @default 0 */
    rampS: z.number().min(0).max(1e9).default(0),
    startAfterS: StartAfterS,
  })
  .strict();

export const OverCurrentSpikeFault = z
  .object({
    kind: z.literal("over-current-spike"),
    /** Spike size, multiples of the pack's rated capacity (C). @default 3 */
    cRate: z.number().positive().max(50).default(3),
    direction: z.enum(["discharge", "charge"]).default("discharge"),
    /** How long the load draws the spike (until the BMS opens the contactor), s. @default 5 */
    durationS: DurationS.default(5),
    startAfterS: StartAfterS,
  })
  .strict();

export const TemperatureSensorFailureFault = z
  .object({
    kind: z.literal("temperature-sensor-failure"),
    sensor: Index.default(0),
    /** `stuck` at its last reading, `open` circuit (reads −40 °C), `shorted` (reads 125 °C). @default "open" */
    mode: z.enum(["stuck", "open", "shorted"]).default("open"),
    startAfterS: StartAfterS,
  })
  .strict();

export const BmsProtectionTripFault = z
  .object({
    kind: z.literal("bms-protection-trip"),
    /** The protection the BMS trips, whatever the readings. @default "over-voltage" */
    protection: ProtectionNameSchema.default("over-voltage"),
    /** How long its condition is forced; after that an alarm reset clears it. @default 5 */
    durationS: DurationS.default(5),
    startAfterS: StartAfterS,
  })
  .strict();

export const ThermalRunawayPrecursorFault = z
  .object({
    kind: z.literal("thermal-runaway-precursor"),
    cell: Index.default(0),
    /** Self-heating at onset, °C per second... @default 0.005 */
    initialRatePerSecond: z.number().positive().max(100).default(0.005),
    /** ...doubling every this many seconds (rising dT/dt). @default 300 */
    doublingTimeS: z.number().positive().max(1e6).default(300),
    /** The sensor stops climbing here, °C. @default 150 */
    maxC: z.number().min(0).max(400).default(150),
    /** The cell's voltage dips this much per °C of self-heating, V/°C (internal micro-shorts). @default 0.004 */
    voltageDipPerC: z.number().min(0).max(1).default(0.004),
    startAfterS: StartAfterS,
  })
  .strict();

export const CommunicationLossFault = z
  .object({
    kind: z.literal("communication-loss"),
    /** How long the device stays silent, s. @default until cleared */
    durationS: DurationS.optional(),
    startAfterS: StartAfterS,
  })
  .strict();

const Rate = z.number().min(0).max(1);
export const GarbledLinkFault = z
  .object({
    kind: z.literal("garbled-link"),
    /** Per reply: probability of a bad CRC / corrupted frame. @default 0.2 */
    crcErrorRate: Rate.default(0.2),
    /** ...of a truncated reply. @default 0.1 */
    truncateRate: Rate.default(0.1),
    /** ...of a reply from the wrong unit ID. @default 0.05 */
    wrongUnitRate: Rate.default(0.05),
    /** @default until cleared */
    durationS: DurationS.optional(),
    startAfterS: StartAfterS,
  })
  .strict()
  .refine((f) => f.crcErrorRate + f.truncateRate + f.wrongUnitRate <= 1, { message: "crcErrorRate + truncateRate + wrongUnitRate must be at most 1" });

export const InsulationFault = z
  .object({
    kind: z.literal("insulation-fault"),
    /** Insulation resistance falls (log-linearly) to this, kΩ. @default 20 */
    floorKOhm: z.number().min(0).max(1_000_000).default(20),
    /** ...over this many seconds. @default 600 */
    rampS: z.number().min(0).max(1e9).default(600),
    startAfterS: StartAfterS,
  })
  .strict();

export const FaultSchema = z.discriminatedUnion("kind", [
  OverTemperatureFault,
  CellOverVoltageFault,
  CellUnderVoltageFault,
  WeakCellFault,
  InternalShortFault,
  OverCurrentSpikeFault,
  TemperatureSensorFailureFault,
  BmsProtectionTripFault,
  ThermalRunawayPrecursorFault,
  CommunicationLossFault,
  GarbledLinkFault,
  InsulationFault,
]);
export type Fault = z.input<typeof FaultSchema>;
export type ResolvedFault = z.output<typeof FaultSchema>;
export type FaultKind = ResolvedFault["kind"];
export const FAULT_KINDS: readonly FaultKind[] = FaultSchema.options.map((option) => option.shape.kind.value);

/** A fault description that does not validate, or names a sensor or cell the pack does not have. */
export class InvalidFaultError extends Error {
  override readonly name = "InvalidFaultError";
  constructor(readonly problems: readonly string[]) {
    super(`invalid fault: ${problems.join("; ")}`);
  }
}

/** The cell or sensor a fault acts on, if any. */
export function faultTarget(fault: ResolvedFault): { what: "cell" | "sensor"; index: number } | undefined {
  switch (fault.kind) {
    case "over-temperature":
    case "temperature-sensor-failure":
      return { what: "sensor", index: fault.sensor };
    case "cell-over-voltage":
    case "cell-under-voltage":
    case "weak-cell":
    case "internal-short":
    case "thermal-runaway-precursor":
      return { what: "cell", index: fault.cell };
    default:
      return undefined;
  }
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
