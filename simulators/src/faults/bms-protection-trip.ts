import { z } from "zod";
import { ProtectionNameSchema } from "../model/bms-protection";
import { DurationS, defineFault, StartAfterS } from "./fault-module";

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

/** The BMS trips a protection that no measurement explains (a BMS fault, not a cell fault). */
export const bmsProtectionTrip = defineFault(BmsProtectionTripFault, {
  activate: (f) => ({
    bms(t, fx) {
      if (t < f.durationS) fx.forced.add(f.protection);
    },
  }),
});
