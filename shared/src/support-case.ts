import { z } from "zod";
import { Id } from "./ids";
import { PackMeta } from "./pack-meta";
import { EpochMs, PackSample } from "./pack-sample";

/** ThingsBoard-style scale, worst first. */
export const Severity = z.enum(["critical", "major", "minor", "warning"]);
export type Severity = z.infer<typeof Severity>;

/** open → acknowledged (an engineer took it) → closed. One open or acknowledged case per (pack, rule). */
export const CaseStatus = z.enum(["open", "acknowledged", "closed"]);
export type CaseStatus = z.infer<typeof CaseStatus>;

export const RuleId = z.string().regex(/^[a-z0-9-]{1,64}$/);

/** What an engineer needs to start a remote diagnosis without asking the customer. */
export const CaseEvidence = z.object({
  /** The sample that made the rule fire (null for "no data"). */
  sample: PackSample.nullable(),
  /** The value that crossed the threshold, in the rule's unit. */
  value: z.number().nullable(),
  threshold: z.number().nullable(),
  /** Which cell or sensor, where the rule is per cell or sensor. */
  index: z.number().int().nullable(),
  /** One sentence a person can read. */
  detail: z.string(),
  /** Pack identity (serial, warranty) as last published by the agent, where known. */
  meta: PackMeta.nullable(),
});
export type CaseEvidence = z.infer<typeof CaseEvidence>;

export const SupportCase = z.object({
  id: z.string(),
  siteId: Id,
  packId: Id,
  ruleId: RuleId,
  severity: Severity,
  status: CaseStatus,
  title: z.string(),
  openedAt: EpochMs,
  updatedAt: EpochMs,
  /** When the rule's condition cleared (the case stays open until an engineer closes it). */
  clearedAt: EpochMs.nullable(),
  closedAt: EpochMs.nullable(),
  /** How many times the condition fired while this case was open. */
  occurrences: z.number().int().min(1),
  evidence: CaseEvidence,
});
export type SupportCase = z.infer<typeof SupportCase>;

export const CaseEventType = z.enum(["opened", "updated", "cleared", "closed"]);
export type CaseEventType = z.infer<typeof CaseEventType>;

/** Published on `cases/{siteId}/{packId}` and emitted as socket.io `case`. */
export const CaseEvent = z.object({
  type: CaseEventType,
  case: SupportCase,
});
export type CaseEvent = z.infer<typeof CaseEvent>;
