import { z } from "zod";
import { defineFault, Index, rampShare, StartAfterS } from "./fault-module";

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

/** One cell self-discharges (and warms) through a short: its SOC drifts down, it sags at rest. */
export const internalShort = defineFault(InternalShortFault, {
  target: (f) => ({ what: "cell", index: f.cell }),
  activate: (f) => ({
    cells(t, fx) {
      fx.leakA[f.cell] = (fx.leakA[f.cell] ?? 0) + f.leakageA * rampShare(t, f.rampS);
    },
  }),
});
