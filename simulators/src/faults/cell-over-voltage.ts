import { z } from "zod";
import { defineFault, Index, StartAfterS } from "./fault-module";

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

/** A cell's voltage climbs above what its charge explains, up to `maxV`. */
export const cellOverVoltage = defineFault(CellOverVoltageFault, {
  target: (f) => ({ what: "cell", index: f.cell }),
  activate(f) {
    let volts = 0; // added so far
    return {
      integrate(_t, dt, _temperatures, pack) {
        if (!f.whileCharging || pack.current > 0) volts += f.ratePerSecond * dt;
      },
      cellVoltages(_t, voltages) {
        const base = voltages[f.cell] ?? 0;
        volts = Math.max(0, Math.min(volts, f.maxV - base));
        voltages[f.cell] = base + volts;
      },
    };
  },
});
