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

/**
 * `GET /api/packs/:siteId/:packId/history?from=&to=&maxPoints=`: points oldest first, from the
 * time-series server (`influxql`, `victoriametrics`) or the live service's buffer (`live`).
 */
export const PackHistory = z.object({
  siteId: Id,
  packId: Id,
  points: z.array(PackHistoryPoint),
  source: z.enum(["influxql", "victoriametrics", "live"]),
  /**
   * null: the points are the samples as written. A number: the window held more than `maxPoints`
   * samples, aggregated into buckets of this many ms stamped at their start (SOC, voltage and
   * current the mean; cell voltage and temperature min/max the min/max).
   */
  resolutionMs: z.number().int().positive().nullable(),
  /** Set when the time-series server did not answer and the points come from the live buffer instead. */
  warning: z.string().optional(),
});
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
  /** Grafana beside the console (`grafanaUrl`, no trailing slash); null: none configured. */
  grafanaUrl: z.string().nullable(),
});
export type LiveMeta = z.infer<typeof LiveMeta>;

/**
 * A pack's place in fleet triage, most urgent first: `critical` (a case of critical or major
 * severity being worked: open to on-site visit), `warning` (such a case of minor or warning
 * severity, or BMS alarm codes in the latest sample), `offline` (the site's agent is offline, or
 * the pack has sent nothing for FLEET_OFFLINE_AFTER_MS), `healthy`.
 */
export const FleetState = z.enum(["critical", "warning", "offline", "healthy"]);
export type FleetState = z.infer<typeof FleetState>;

/** A pack that sent nothing for this long counts as offline in triage. */
export const FLEET_OFFLINE_AFTER_MS = 5 * 60_000;

/** One row of fleet triage (`GET /api/fleet`): what a row shows, nothing more. */
export const FleetPack = z.object({
  siteId: Id,
  packId: Id,
  state: FleetState,
  /** Worst severity of the pack's cases being worked; null without any. */
  worstSeverity: Severity.nullable(),
  activeCases: z.number().int().min(0),
  /** True when the pack counts as offline, whatever its state (a critical pack may also be offline). */
  offline: z.boolean(),
  serial: z.string().nullable(),
  model: z.string().nullable(),
  chemistry: Chemistry.nullable(),
  soc: z.number().nullable(),
  soh: z.number().nullable(),
  packVoltage: z.number().nullable(),
  current: z.number().nullable(),
  cellVoltageMin: z.number().nullable(),
  cellVoltageMax: z.number().nullable(),
  temperatureMax: z.number().nullable(),
  bmsAlarms: z.array(z.string()),
  /** ms: when the live service received the pack's latest sample (null: none since it started). */
  receivedAt: z.number().int().nullable(),
});
export type FleetPack = z.infer<typeof FleetPack>;

/** One site in fleet triage, with its edge agent's link health (from the retained `bms/{siteId}/status`). */
export const FleetSite = z.object({
  siteId: Id,
  /** Its most urgent pack's state; `critical`/`warning` also for the site's own cases (site offline). */
  state: FleetState,
  packs: z.number().int().min(0),
  counts: z.record(FleetState, z.number().int().min(0)),
  agent: z.object({
    state: z.enum(["online", "offline", "unknown"]),
    /** ms: the newest of the agent's status and the site's samples, as received. */
    lastContact: z.number().int().nullable(),
    /** Samples waiting in the agent's outbox. */
    queueDepth: z.number().int().nullable(),
    oldestQueuedTs: z.number().int().nullable(),
    /** Devices the agent cannot read, with its reason. */
    failingDevices: z.array(z.object({ packId: Id, lastError: z.string().nullable() })),
  }),
});
export type FleetSite = z.infer<typeof FleetSite>;

/** `GET /api/fleet?q=&state=&offset=&limit=`: counts over every pack the token sees, then one page of the matching packs and sites. */
export const FleetAnswer = z.object({
  counts: z.record(FleetState, z.number().int().min(0)),
  total: z.number().int().min(0),
  /** Packs matching `q` and `state`. */
  matched: z.number().int().min(0),
  offset: z.number().int().min(0),
  packs: z.array(FleetPack),
  /** Sites matching `q`, most urgent first (at most `siteLimit`). */
  sites: z.array(FleetSite),
  siteCount: z.number().int().min(0),
  generatedAt: z.number().int(),
});
export type FleetAnswer = z.infer<typeof FleetAnswer>;
