import { z } from "zod";
import { DurationS, defineFault, StartAfterS } from "./fault-module";

export const CommunicationLossFault = z
  .object({
    kind: z.literal("communication-loss"),
    /** How long the device stays silent, s. @default until cleared */
    durationS: DurationS.optional(),
    startAfterS: StartAfterS,
  })
  .strict();

/** The device stops answering: no Modbus reply, no CAN frame (a cut line, a hung BMS). */
export const communicationLoss = defineFault(CommunicationLossFault, {
  activate: (f) => ({
    link: (t) => (f.durationS === undefined || t < f.durationS ? { kind: "silent" } : undefined),
  }),
});
