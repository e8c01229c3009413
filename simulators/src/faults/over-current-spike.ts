import { z } from "zod";
import { DurationS, defineFault, StartAfterS } from "./fault-module";

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

/** A fault in the load: it draws a surge, ignoring the BMS's limits, until the contactor opens. */
export const overCurrentSpike = defineFault(OverCurrentSpikeFault, {
  activate: (f) => ({
    loadCurrentA: (t, pack) => (t < f.durationS ? (f.direction === "charge" ? 1 : -1) * f.cRate * pack.capacityAh : undefined),
  }),
});
