import { z } from "zod";
import { DurationS, defineFault, StartAfterS } from "./fault-module";

const Rate = z.number().min(0).max(1);

export const GarbledLinkFault = z
  .object({
    kind: z.literal("garbled-link"),
    /** Per reply: probability of a bad CRC / corrupted frame. @default 0.2 */
    crcErrorRate: Rate.default(0.2),
    /** ...of a truncated reply. @default 0.1 */
    truncateRate: Rate.default(0.1),
    /** ...of a reply from the wrong unit ID. @default 0.05 */
    wrongUnitRate: Rate.default(0.05),
    /** @default until cleared */
    durationS: DurationS.optional(),
    startAfterS: StartAfterS,
  })
  .strict()
  .refine((f) => f.crcErrorRate + f.truncateRate + f.wrongUnitRate <= 1, { message: "crcErrorRate + truncateRate + wrongUnitRate must be at most 1" });

/** A noisy line: the protocol servers damage replies with these probabilities (protocols/link-faults.ts). */
export const garbledLink = defineFault(GarbledLinkFault, {
  activate: (f) => ({
    link: (t) =>
      f.durationS === undefined || t < f.durationS
        ? { kind: "garbled", crcErrorRate: f.crcErrorRate, truncateRate: f.truncateRate, wrongUnitRate: f.wrongUnitRate }
        : undefined,
  }),
});
