import { z } from "zod";
import { defineFault, Index, StartAfterS } from "./fault-module";

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

/** The largest voltage dip the micro-shorts cause, V. */
const MAX_DIP_V = 1.5;

/** One cell self-heats with a dT/dt that keeps doubling; its voltage dips with the heat. */
export const thermalRunawayPrecursor = defineFault(ThermalRunawayPrecursorFault, {
  target: (f) => ({ what: "cell", index: f.cell }),
  activate(f) {
    let onsetC: number | undefined; // the cell's temperature when the self-heating began
    return {
      integrate(t, dt, temperatures) {
        const temp = temperatures[f.cell] ?? 0;
        onsetC ??= temp;
        const rate = f.initialRatePerSecond * 2 ** (t / f.doublingTimeS);
        if (temp < f.maxC) temperatures[f.cell] = Math.min(f.maxC, temp + rate * dt);
      },
      cellVoltages(_t, voltages, pack) {
        if (onsetC === undefined) return;
        const rise = Math.max(0, (pack.temperatures[f.cell] ?? 0) - onsetC);
        voltages[f.cell] = (voltages[f.cell] ?? 0) - Math.min(MAX_DIP_V, rise * f.voltageDipPerC);
      },
    };
  },
});
