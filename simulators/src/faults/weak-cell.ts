import { z } from "zod";
import { defineFault, Index, rampShare, StartAfterS } from "./fault-module";

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

/** Capacity fade of one cell, with a higher resistance: it reaches both knees of the OCV curve first. */
export const weakCell = defineFault(WeakCellFault, {
  target: (f) => ({ what: "cell", index: f.cell }),
  activate: (f) => ({
    cells(t, fx) {
      const ramp = rampShare(t, f.rampS);
      fx.capacityFactor[f.cell] = (fx.capacityFactor[f.cell] ?? 1) * (1 - ramp * (1 - f.capacityFraction));
      fx.resistanceFactor[f.cell] = (fx.resistanceFactor[f.cell] ?? 1) * (1 + ramp * (f.resistanceFactor - 1));
    },
  }),
});
