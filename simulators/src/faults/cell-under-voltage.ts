import { z } from "zod";
import { defineFault, Index, StartAfterS } from "./fault-module";

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

/** A high-resistance cell: it sags more and more under discharge, down to `minV`, and recovers at rest. */
export const cellUnderVoltage = defineFault(CellUnderVoltageFault, {
  target: (f) => ({ what: "cell", index: f.cell }),
  activate(f) {
    let volts = 0; // sag under load so far
    return {
      integrate(_t, dt, _temperatures, pack) {
        if (pack.current < 0) volts += f.ratePerSecond * dt;
      },
      cellVoltages(_t, voltages, pack) {
        const base = voltages[f.cell] ?? 0;
        volts = Math.max(0, Math.min(volts, base - f.minV));
        if (pack.current < 0) voltages[f.cell] = base - volts;
      },
    };
  },
});
