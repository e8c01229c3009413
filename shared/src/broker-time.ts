import { z } from "zod";
import { EpochMs } from "./pack-sample";

/**
 * The embedded broker's wall clock, republished retained every `timeIntervalMs` (default 10 s).
 * `$SYS/...` is the broker's own namespace: no client may publish there, and `#`/`+` subscriptions
 * do not match it. Edge agents read it to check their own clock (docs/edge-agent.md, clock check).
 */
export const BROKER_TIME_TOPIC = "$SYS/broker/time";

export const BrokerTime = z.object({
  /** The broker's time when it published this, ms since the epoch. */
  ts: EpochMs,
});
export type BrokerTime = z.infer<typeof BrokerTime>;
