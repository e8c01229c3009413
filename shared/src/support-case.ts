import { z } from "zod";
import { BmsAlarmCode } from "./bms-alarms";
import { BmsCounters, BmsEvent } from "./bms-history";
import { CaptureEvidence } from "./capture-evidence";
import { Id } from "./ids";
import { CellVerdict, WindowLimit } from "./pack-health";
import { PackMeta } from "./pack-meta";
import { EpochMs, PackSample } from "./pack-sample";

/** ThingsBoard-style scale, worst first. */
export const Severity = z.enum(["critical", "major", "minor", "warning"]);
export type Severity = z.infer<typeof Severity>;

/** Higher is worse: for escalation and roll-ups. */
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { warning: 1, minor: 2, major: 3, critical: 4 };

export function worseSeverity(a: Severity, b: Severity): Severity {
  return SEVERITY_RANK[a] >= SEVERITY_RANK[b] ? a : b;
}

/**
 * The after-sales process: open → acknowledged (an engineer took it) → remote-diagnosis →
 * on-site-visit (an engineer or spare parts dispatched) → resolved (fixed, waiting for the
 * customer) → closed (the customer confirmed). Every status but `closed` is the one current case
 * of its (site, pack, rule).
 */
export const CaseStatus = z.enum(["open", "acknowledged", "remote-diagnosis", "on-site-visit", "resolved", "closed"]);
export type CaseStatus = z.infer<typeof CaseStatus>;

/**
 * Moves an engineer may make, from → to. `acknowledged → resolved` and `remote-diagnosis → resolved`
 * are the remote fixes; `resolved → remote-diagnosis` is a fix that did not hold. Nothing leaves
 * `closed` by hand: the rules reopen a closed case when its fault returns within the reopen period.
 */
export const CASE_TRANSITIONS: Readonly<Record<CaseStatus, readonly CaseStatus[]>> = {
  open: ["acknowledged"],
  acknowledged: ["remote-diagnosis", "resolved"],
  "remote-diagnosis": ["on-site-visit", "resolved"],
  "on-site-visit": ["remote-diagnosis", "resolved"],
  resolved: ["closed", "remote-diagnosis"],
  closed: [],
};

export const RuleId = z.string().regex(/^[a-z0-9-]{1,64}$/, "a rule ID of 1-64 lowercase letters, digits or '-'");

/** Who did something: an engineer token's name, or `rules` for the ingestion. */
export const Actor = z.string().min(1).max(128);

/** One firing of a rule on the pack, as the case's evidence lists them. */
export const RuleFiring = z.object({
  ruleId: RuleId,
  severity: Severity,
  /** ms: the triggering sample's ts (or the time of the check). */
  at: EpochMs,
  detail: z.string().max(2000),
  /**
   * `case`: the firing that opened or counted on this case; `related`: another rule whose firing
   * this case explains (recorded here instead of opening a case of its own); `context`: a firing
   * on the same pack shortly before the case opened.
   */
  role: z.enum(["case", "related", "context"]),
  /**
   * True when the firing was found in back-filled samples: an agent's outbox backlog, sent after an
   * outage and evaluated in the pack's backfill lane (`at` is then a time during the outage).
   */
  backfilled: z.boolean().optional(),
});
export type RuleFiring = z.infer<typeof RuleFiring>;

/** Entries of the BMS's own log a case keeps (the newest). */
export const MAX_CASE_BMS_EVENTS = 100;

/** The BMS's own record (its event log and lifetime counters), as the last `read-event-log` on the case's pack read it. */
export const BmsHistoryEvidence = z.object({
  /** The command that read it. */
  commandId: z.string().max(64),
  readAt: EpochMs,
  counters: BmsCounters,
  /** The counters as the read before this one found them, when there was one: what rose in between. */
  previous: z.object({ readAt: EpochMs, counters: BmsCounters }).nullable(),
  /** The log's newest entries, oldest first. */
  events: z.array(BmsEvent).max(MAX_CASE_BMS_EVENTS),
  /** Events the BMS logged in all; null when it does not say. */
  totalEvents: z.number().int().min(0).nullable(),
});
export type BmsHistoryEvidence = z.infer<typeof BmsHistoryEvidence>;
/**
 * The case's condition followed while it holds (the ingestion updates it every minute, and sooner
 * on a worse value): the evidence at opening stays as it was, this says what happened since.
 */
export const EvidenceFollowUp = z.object({
  /** `above`: higher is worse (an upper limit); `below`: lower is worse. */
  direction: z.enum(["above", "below"]),
  /** The worst value the rule saw while the condition held, in the rule's unit. */
  worstValue: z.number(),
  /** Its cell or sensor, from 0 as `index`. */
  worstIndex: z.number().int().nullable(),
  worstAt: EpochMs,
  /** The worst value in words, numbered from 1 ("Sensor 4 at 80 °C"). */
  worstDetail: z.string().max(2000),
  /** When the condition started to hold, and the last sample it still held at. */
  heldSince: EpochMs,
  heldUntil: EpochMs,
});
export type EvidenceFollowUp = z.infer<typeof EvidenceFollowUp>;

/** What an engineer needs to start a remote diagnosis without asking the customer. */
export const CaseEvidence = z.object({
  /** The sample that made the rule fire (null for "no data" and other rules without one). */
  sample: PackSample.nullable(),
  /** The value that crossed the threshold, in the rule's unit. */
  value: z.number().nullable(),
  threshold: z.number().nullable(),
  /**
   * Which cell or sensor, where the rule is per cell or sensor: its position in the sample's
   * `cellVoltages` / `cellTemperatures`, from 0. People see it from 1, as on the device label
   * ("cell 4" is index 3): every text the rules write and the console shows does so.
   */
  index: z.number().int().nullable(),
  /** One sentence a person can read. */
  detail: z.string(),
  /** Pack identity (serial, firmware, warranty) as last published by the agent, where known. */
  meta: PackMeta.nullable(),
  /** Every alarm code the BMS itself reported while this case's rules fired. */
  bmsAlarms: z.array(BmsAlarmCode).max(64).default([]),
  /** Which rules fired and when (newest last, at most 200). */
  rulesFired: z.array(RuleFiring).max(200).default([]),
  /** While the rule's condition holds after the case opened: the worst value since, and how long it has held. */
  followUp: EvidenceFollowUp.optional(),
  /**
   * True when the case was opened from back-filled samples (an agent's outbox backlog after an
   * outage): the trigger, sample and freeze frame are from the outage, with their original `ts`.
   * Absent for cases opened from live samples; a later back-filled occurrence is flagged in `rulesFired`.
   */
  backfilled: z.boolean().optional(),
  /** The BMS's own event log and counters, once an engineer read them (remote diagnosis). */
  bmsHistory: BmsHistoryEvidence.optional(),
  /** The second freeze frame: the latest capture an engineer ran on the pack for this case (remote diagnosis). */
  capture: CaptureEvidence.optional(),
});
export type CaseEvidence = z.infer<typeof CaseEvidence>;

/** The samples around a trigger: `before` up to and including it, `after` following it. */
export const FreezeFrame = z.object({
  triggerTs: EpochMs,
  ruleId: RuleId,
  before: z.array(PackSample).max(10_000),
  after: z.array(PackSample).max(10_000),
  /** False while the after-window is still being collected. */
  complete: z.boolean(),
});
export type FreezeFrame = z.infer<typeof FreezeFrame>;

/** Conditions the warranty excludes, computed from the pack's history as the ingestion saw it. */
export const WarrantyExclusionKind = z.enum(["over-temperature", "charging-below-zero", "over-discharge", "over-current"]);
export type WarrantyExclusionKind = z.infer<typeof WarrantyExclusionKind>;

export const WarrantyExclusion = z.object({
  condition: WarrantyExclusionKind,
  /**
   * `telemetry` (or absent): tallied from the samples the ingestion saw; `bms-log`: events the BMS
   * itself logged that the telemetry never showed (the site offline, or before monitoring began).
   */
  source: z.enum(["telemetry", "bms-log"]).optional(),
  /** Seconds the condition held (over-current: seconds above the limit). */
  seconds: z.number().min(0),
  /** Separate episodes of it. */
  events: z.number().int().min(0),
  /** The worst value seen (°C, V or C-rate). */
  worst: z.number().nullable(),
  firstAt: EpochMs.nullable(),
  lastAt: EpochMs.nullable(),
  /** Above the tolerance of the warranty terms: the repair may be charged. */
  exceedsTolerance: z.boolean(),
  detail: z.string(),
});
export type WarrantyExclusion = z.infer<typeof WarrantyExclusion>;

export const WarrantyAssessment = z.object({
  /** From the pack's warrantyStart/warrantyEnd at the time of the trigger; `unknown` without dates. */
  coverage: z.enum(["in-warranty", "out-of-warranty", "unknown"]),
  warrantyStart: z.string().nullable(),
  warrantyEnd: z.string().nullable(),
  assessedAt: EpochMs,
  /** Since when the ingestion has this pack's history (conditions before it are unknown). */
  historySince: EpochMs.nullable(),
  exclusions: z.array(WarrantyExclusion),
  /**
   * `free`: in warranty and no excluded condition above tolerance; `chargeable`: out of warranty,
   * or an excluded condition above tolerance; `review`: no warranty dates known.
   */
  suggestion: z.enum(["free", "chargeable", "review"]),
  reason: z.string(),
  /** The usage stress against the product's operating window (absent on cases opened before it was kept). */
  stress: z
    .object({
      operatingHours: z.number().min(0),
      outsideHours: z.partialRecord(WindowLimit, z.number().min(0)),
      outsideSharePct: z.number().min(0),
      maxOutsideSharePct: z.number(),
      highSocHighTemperatureHours: z.number().min(0),
      maxTemperatureC: z.number().nullable(),
      minSocPct: z.number().nullable(),
      /** The window's limits, in words. */
      window: z.string(),
    })
    .optional(),
  /** Throughput against what the warranty covers. */
  throughput: z
    .object({
      equivalentFullCycles: z.number().min(0),
      throughputAh: z.number().min(0),
      dischargedKWh: z.number().min(0),
      warrantedEquivalentCycles: z.number().nullable(),
      warrantedThroughputKWh: z.number().nullable(),
      /** The larger of the two shares used, %; null without a limit. */
      usedPct: z.number().nullable(),
    })
    .optional(),
  /** The field SOH estimate against the warranted end-of-life curve. */
  soh: z
    .object({
      estimatePct: z.number().nullable(),
      uncertaintyPct: z.number().nullable(),
      reason: z.string().optional(),
      windows: z.number().int().min(0),
      ageYears: z.number().nullable(),
      warrantedMinPct: z.number().nullable(),
      eolSohPct: z.number(),
      warrantedYears: z.number(),
      forecastEolAt: EpochMs.nullable(),
      cellVerdict: CellVerdict,
    })
    .optional(),
  /** The evidence behind the suggestion, one line per finding, and which way it points. */
  evidence: z
    .array(
      z.object({
        topic: z.enum(["coverage", "exclusion", "operating-window", "throughput", "soh", "cells"]),
        points: z.enum(["free", "chargeable", "neutral"]),
        text: z.string(),
      }),
    )
    .max(50)
    .optional(),
});
export type WarrantyAssessment = z.infer<typeof WarrantyAssessment>;

/** The service plan's cost categories. */
export const CostCategory = z.enum(["personnel-transport", "accommodation", "labour", "spare-parts", "freight"]);
export type CostCategory = z.infer<typeof CostCategory>;

export const CostBearer = z.enum(["company", "customer"]);
export type CostBearer = z.infer<typeof CostBearer>;

const Money = z.number().min(0).max(10_000_000);

export const CostLine = z.object({
  id: z.string(),
  category: CostCategory,
  description: z.string().max(500),
  quantity: z.number().positive().max(1_000_000),
  unitPrice: Money,
  /** ISO 4217, e.g. EUR. */
  currency: z.string().regex(/^[A-Z]{3}$/, "a currency code like EUR"),
  /** quantity × unitPrice, rounded to cents. */
  amount: z.number().min(0),
  bearer: CostBearer,
  addedBy: Actor,
  addedAt: EpochMs,
});
export type CostLine = z.infer<typeof CostLine>;

export const SparePart = z.object({
  id: z.string(),
  /** Part number. */
  part: z.string().min(1).max(100),
  description: z.string().max(500),
  quantity: z.number().int().min(1).max(10_000),
  /** The BMS firmware version the part must be compatible with. */
  bmsVersion: z.string().min(1).max(64),
  addedBy: Actor,
  addedAt: EpochMs,
});
export type SparePart = z.infer<typeof SparePart>;

/** What an engineer adds as a cost line (REST body, case store input); the store adds id, amount, who and when. */
export const CostLineInput = CostLine.pick({ category: true, quantity: true, unitPrice: true, currency: true })
  .extend({
    description: z.string().max(500).default(""),
    /** Defaults from the warranty suggestion: `free` → company, `chargeable` → customer; required otherwise. */
    bearer: CostBearer.optional(),
  })
  .strict();
export type CostLineInput = z.input<typeof CostLineInput>;

/** A spare part an engineer requests (REST body, case store input). */
export const SparePartInput = SparePart.pick({ part: true, quantity: true })
  .extend({
    description: z.string().max(500).default(""),
    /** Defaults to the pack's BMS firmware from the case evidence; required when that is unknown. */
    bmsVersion: z.string().min(1).max(64).optional(),
  })
  .strict();
export type SparePartInput = z.input<typeof SparePartInput>;

/** An engineer's note on a case. */
export const CaseNoteText = z.string().min(1, "a note needs some text").max(10_000);
/** Who a case is assigned to; null unassigns. */
export const CaseAssignee = z.string().min(1).max(128).nullable();

export const TimelineKind = z.enum([
  "opened",
  "occurrence",
  "escalated",
  "reopened",
  "cleared",
  "related",
  "status",
  "assigned",
  "note",
  "cost-line",
  "spare-part",
  /** A remote command an engineer sent the pack (remote diagnosis). */
  "command",
  /** What a remote command did: its outcome, with before and after. */
  "command-result",
]);
export type TimelineKind = z.infer<typeof TimelineKind>;

/** One change to a case: who, when, what. */
export const TimelineEntry = z.object({
  /** Increasing across all cases of a store: consumers (webhooks) read from a cursor. */
  id: z.number().int().min(1),
  caseId: z.string(),
  at: EpochMs,
  actor: Actor,
  kind: TimelineKind,
  message: z.string().max(10_000),
  /** The status after this entry, and the severity. */
  status: CaseStatus,
  severity: Severity,
});
export type TimelineEntry = z.infer<typeof TimelineEntry>;

export const CostTotal = z.object({ currency: z.string(), company: z.number(), customer: z.number() });

export const SupportCase = z.object({
  id: z.string(),
  siteId: Id,
  packId: Id,
  ruleId: RuleId,
  /** The worst severity the case reached (it escalates, never de-escalates by itself). */
  severity: Severity,
  status: CaseStatus,
  title: z.string(),
  openedAt: EpochMs,
  updatedAt: EpochMs,
  /** When the rule's condition cleared (the case stays open for an engineer); null while it holds. */
  clearedAt: EpochMs.nullable(),
  acknowledgedAt: EpochMs.nullable(),
  resolvedAt: EpochMs.nullable(),
  closedAt: EpochMs.nullable(),
  /** The engineer the case is assigned to. */
  assignee: z.string().max(128).nullable(),
  /** How many times the condition fired (first firing included). */
  occurrences: z.number().int().min(1),
  lastOccurrenceAt: EpochMs,
  /** How many times the fault returned after the case was resolved or closed. */
  reopenedCount: z.number().int().min(0),
  evidence: CaseEvidence,
  warranty: WarrantyAssessment.nullable(),
  costLines: z.array(CostLine),
  costTotals: z.array(CostTotal),
  spareParts: z.array(SparePart),
  /** Only in `GET /api/cases/:id`: the samples around each trigger. */
  freezeFrames: z.array(FreezeFrame).optional(),
  /** Only in `GET /api/cases/:id`: every change, oldest first. */
  timeline: z.array(TimelineEntry).optional(),
  /** Only in `GET /api/cases/:id`: the pack's other cases that are not closed (its roll-up). */
  relatedCaseIds: z.array(z.string()).optional(),
});
export type SupportCase = z.infer<typeof SupportCase>;

/** The cases of one pack, grouped: what `GET /api/packs/:siteId/:packId/cases` returns. */
export const PackCaseRollup = z.object({
  siteId: Id,
  packId: Id,
  /** Worst severity of the cases that are not closed; null when there are none. */
  worstSeverity: Severity.nullable(),
  activeCases: z.number().int().min(0),
  rules: z.array(RuleId),
  cases: z.array(SupportCase),
});
export type PackCaseRollup = z.infer<typeof PackCaseRollup>;

/**
 * `opened` (a new case), `reopened` (its fault returned after it was resolved or closed),
 * `escalated` (a worse severity), `updated` (another occurrence, a related rule, an engineer's
 * change), `followed` (the condition still holds: `evidence.followUp` and the warranty assessment
 * brought up to date, at most every few seconds), `cleared` (the condition stopped holding), `closed`.
 */
export const CaseEventType = z.enum(["opened", "reopened", "escalated", "updated", "followed", "cleared", "closed"]);
export type CaseEventType = z.infer<typeof CaseEventType>;

/** Published on `cases/{siteId}/{packId}` and emitted as socket.io `case`. */
export const CaseEvent = z.object({
  type: CaseEventType,
  case: SupportCase,
});
export type CaseEvent = z.infer<typeof CaseEvent>;

/** The case ID a site-level rule (site offline) files its case under, in place of a pack. */
export const SITE_PACK_ID = "_site";
