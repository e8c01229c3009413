import { z } from "zod";

/**
 * Faults that can be injected into a simulated pack at run time. `Fault` is what callers pass
 * (optional fields may be left out); `ResolvedFault` has every default filled in.
 */
export const OverTemperatureFault = z
  .object({
    kind: z.literal("over-temperature"),
    /** Temperature sensor (0-based cell index) that climbs. @default 0 */
    sensor: z.number().int().min(0).default(0),
    /** °C per simulated second. @default 1 */
    ratePerSecond: z.number().positive().max(100).default(1),
    /** The sensor stops climbing here, °C. @default 80 */
    maxC: z.number().min(-40).max(200).default(80),
  })
  .strict();

export const CellOverVoltageFault = z
  .object({
    kind: z.literal("cell-over-voltage"),
    /** Cell (0-based) whose voltage climbs. @default 0 */
    cell: z.number().int().min(0).default(0),
    /** V per simulated second. @default 0.005 */
    ratePerSecond: z.number().positive().max(10).default(0.005),
    /** The cell stops climbing here, V. @default 3.9 */
    maxV: z.number().min(0).max(10).default(3.9),
  })
  .strict();

export const FaultSchema = z.discriminatedUnion("kind", [OverTemperatureFault, CellOverVoltageFault]);
export type Fault = z.input<typeof FaultSchema>;
export type ResolvedFault = z.output<typeof FaultSchema>;

/** A fault description that does not validate, or names a sensor or cell the pack does not have. */
export class InvalidFaultError extends Error {
  override readonly name = "InvalidFaultError";
  constructor(readonly problems: readonly string[]) {
    super(`invalid fault: ${problems.join("; ")}`);
  }
}

/** Validates a fault against the schema and the pack's cell count; fills in the defaults. */
export function resolveFault(fault: unknown, cellCount: number): ResolvedFault {
  const parsed = FaultSchema.safeParse(fault);
  if (!parsed.success) {
    throw new InvalidFaultError(parsed.error.issues.map((issue) => `${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`));
  }
  const resolved = parsed.data;
  const index = resolved.kind === "over-temperature" ? resolved.sensor : resolved.cell;
  if (index >= cellCount) {
    const what = resolved.kind === "over-temperature" ? "sensor" : "cell";
    throw new InvalidFaultError([`${what}: ${index} is out of range, the pack has ${what}s 0–${cellCount - 1}`]);
  }
  return resolved;
}
