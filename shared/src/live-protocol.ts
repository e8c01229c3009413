import { z } from "zod";
import { Id } from "./ids";

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
