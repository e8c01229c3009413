import { z } from "zod";
import { EpochMs } from "./pack-sample";

/** Retained on `bms/{siteId}/status`; `offline` is the edge agent's MQTT last will. */
export const SiteStatus = z.object({
  state: z.enum(["online", "offline"]),
  ts: EpochMs,
});
export type SiteStatus = z.infer<typeof SiteStatus>;
