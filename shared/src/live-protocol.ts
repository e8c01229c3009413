import { z } from "zod";
import { Id } from "./ids";
import { PackMeta } from "./pack-meta";
import { PackSample } from "./pack-sample";
import { SiteStatus } from "./site-status";

/** socket.io namespace of the live feed; auth `{ token }` in the handshake. */
export const LIVE_NAMESPACE = "/live";

export const LiveAuth = z.object({ token: z.string().min(1).max(512) });

/** Client → server `subscribe`, acknowledged with a SubscribeAck. No packId = the whole site. */
export const SubscribeRequest = z.object({ siteId: Id, packId: Id.optional() }).strict();
export type SubscribeRequest = z.infer<typeof SubscribeRequest>;

export type SubscribeAck = { ok: true; room: string } | { ok: false; error: string };

/** Event names, server → client. `sample` carries a SitePackSample, `case` a CaseEvent. */
export const LIVE_EVENTS = {
  subscribe: "subscribe",
  unsubscribe: "unsubscribe",
  sample: "sample",
  case: "case",
} as const;

/** One pack as `GET /api/packs` returns it: the latest sample and identity the live service holds. */
export const PackView = z.object({
  siteId: Id,
  packId: Id,
  /** null until the first sample arrived (only the retained meta is known). */
  sample: PackSample.nullable(),
  meta: PackMeta.nullable(),
  /** The site's agent status (retained `bms/{siteId}/status`), where known. */
  siteStatus: SiteStatus.nullable(),
  /** ms, when the service received the latest sample; null without one. */
  receivedAt: z.number().int().nullable(),
});
export type PackView = z.infer<typeof PackView>;
