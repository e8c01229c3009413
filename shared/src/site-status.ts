import { z } from "zod";
import { Id } from "./ids";
import { EpochMs } from "./pack-sample";

const Count = z.number().int().min(0);

/** One device (one pack) as the edge agent sees it. */
export const AgentDeviceStatus = z.object({
  packId: Id,
  /** `ok` while it answers; `failing` after a failed poll, until one succeeds. */
  state: z.enum(["ok", "failing"]),
  /** Polls since the agent started, and how many of them failed (timeout, bad reply, link down). */
  polls: Count,
  errors: Count,
  /** Readings kept out of samples by the plausibility filter. */
  implausible: Count,
  /** The last failure, in words a person can act on. */
  lastError: z.string().max(500).optional(),
  /** When the device last answered a whole poll. */
  lastOkTs: EpochMs.optional(),
});
export type AgentDeviceStatus = z.infer<typeof AgentDeviceStatus>;

/**
 * The edge agent's own clock, as it last checked it: against the broker's time (`$SYS/broker/time`),
 * else its own last retained status, and always against dates it cannot be before (the packs'
 * manufacturing dates, the agent's release date). docs/edge-agent.md, "Clock check".
 */
export const AgentClock = z.object({
  /** `ok`: within the tolerance of the broker's time; `behind`/`ahead`: obviously wrong; `unchecked`: no time source seen yet. */
  state: z.enum(["ok", "behind", "ahead", "unchecked"]),
  /** What it was compared with. */
  reference: z.enum(["broker", "last-status", "manufacturing-date", "release-date"]).optional(),
  /** The agent's clock minus the reference, ms (negative: behind). */
  offsetMs: z.number().int().optional(),
});
export type AgentClock = z.infer<typeof AgentClock>;

/** The edge agent's health and counters, in its retained site status. */
export const AgentStatus = z.object({
  /** Samples in the durable outbox, not yet acknowledged by the broker. */
  queueDepth: Count,
  /** `ts` of the oldest sample still queued. */
  oldestQueuedTs: EpochMs.optional(),
  /** Samples the broker acknowledged since the agent started. */
  published: Count,
  /** Samples dropped, oldest first, because the outbox reached its disk budget. */
  dropped: Count,
  /** Bytes the queued samples hold (topic + payload), against the outbox's byte budget. */
  queueBytes: Count.optional(),
  devices: z.array(AgentDeviceStatus).max(1024),
  clock: AgentClock.optional(),
});
export type AgentStatus = z.infer<typeof AgentStatus>;

/**
 * Retained on `bms/{siteId}/status`; `offline` is the edge agent's MQTT last will. An online agent
 * republishes it periodically with its counters in `agent`.
 */
export const SiteStatus = z.object({
  state: z.enum(["online", "offline"]),
  ts: EpochMs,
  agent: AgentStatus.optional(),
});
export type SiteStatus = z.infer<typeof SiteStatus>;
