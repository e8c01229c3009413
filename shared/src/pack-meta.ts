import { z } from "zod";
import { EpochMs } from "./pack-sample";

export const Chemistry = z.enum(["LFP", "NMC", "LTO", "LCO", "NCA", "other"]);
export type Chemistry = z.infer<typeof Chemistry>;

const IsoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "a date as YYYY-MM-DD");
const Text = z.string().max(64);

/** Pack identity, retained on `bms/{siteId}/{packId}/meta`. Strings are as the BMS reports them. */
export const PackMeta = z.object({
  v: z.literal(1),
  ts: EpochMs,
  manufacturer: Text,
  model: Text,
  serial: Text,
  bmsFirmware: Text,
  chemistry: Chemistry,
  cellCount: z.number().int().min(1).max(1024),
  /** Ah. */
  ratedCapacity: z.number().min(0).max(100_000),
  warrantyStart: IsoDate.optional(),
  warrantyEnd: IsoDate.optional(),
});
export type PackMeta = z.infer<typeof PackMeta>;
