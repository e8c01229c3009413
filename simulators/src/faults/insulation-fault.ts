import { z } from "zod";
import { defineFault, rampShare, StartAfterS } from "./fault-module";

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

/** Insulation resistance falls from healthy to a floor; a BMS without insulation monitoring gains it. */
export const insulationFault = defineFault(InsulationFault, {
  measuresInsulation: true,
  activate: (f) => ({
    bms(t, fx, pack) {
      const healthy = pack.healthyInsulationKOhm;
      const floor = Math.max(f.floorKOhm, 1e-3);
      fx.insulationKOhm = Math.min(fx.insulationKOhm, healthy * (floor / healthy) ** rampShare(t, f.rampS));
    },
  }),
});
