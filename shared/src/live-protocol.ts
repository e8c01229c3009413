import { z } from "zod";
import { Id } from "./ids";
import { Chemistry, PackMeta } from "./pack-meta";
import { PackSample } from "./pack-sample";
import { SiteStatus } from "./site-status";
import { CaseStatus, RuleId, Severity } from "./support-case";

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
  /** A remote command was requested or changed status (its CommandRecord; a capture without its samples). */
  command: "command",
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

/** One point of a pack's history: the sample's charted fields (null where the sample had no cells or sensors). */
export const PackHistoryPoint = z.object({
  /** ms, the sample's `ts`. */
  ts: z.number().int(),
  soc: z.number(),
  packVoltage: z.number(),
  current: z.number(),
  cellVoltageMin: z.number().nullable(),
  cellVoltageMax: z.number().nullable(),
  temperatureMin: z.number().nullable(),
  temperatureMax: z.number().nullable(),
});
export type PackHistoryPoint = z.infer<typeof PackHistoryPoint>;

/** `GET /api/packs/:siteId/:packId/history?from=&to=`: points oldest first. */
export const PackHistory = z.object({ siteId: Id, packId: Id, points: z.array(PackHistoryPoint) });
export type PackHistory = z.infer<typeof PackHistory>;

/** One level of a rule over a value the console shows: a value past `threshold` in `direction` is at `severity`. */
export const LimitLevel = z.object({
  ruleId: RuleId,
  direction: z.enum(["above", "below"]),
  threshold: z.number(),
  severity: Severity,
});
export type LimitLevel = z.infer<typeof LimitLevel>;

/** The values the console highlights, as the rules name them. */
export const CONSOLE_METRICS = ["soc", "cell-voltage-min", "cell-voltage-max", "temperature-min", "temperature-max"] as const;
export type ConsoleMetric = (typeof CONSOLE_METRICS)[number];

/**
 * `GET /api/meta`: what the console takes from the server instead of copying it. `limits`: per
 * chemistry, the rule levels over each value it shows (from the rule book the ingestion uses);
 * `caseActions`: per case status, the moves the after-sales process allows, with a button label.
 */
export const LiveMeta = z.object({
  defaultChemistry: Chemistry,
  limits: z.record(Chemistry, z.partialRecord(z.enum(CONSOLE_METRICS), z.array(LimitLevel))),
  caseActions: z.record(CaseStatus, z.array(z.object({ status: CaseStatus, label: z.string() }))),
});
export type LiveMeta = z.infer<typeof LiveMeta>;
