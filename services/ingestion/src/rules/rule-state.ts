import { Severity } from "@bms/shared";
import { RuleDefinition } from "@bms/shared/config/rules-config";
import { z } from "zod";
import { UsageHistoryState } from "../warranty/usage-history";
import { LanesState } from "./pack-lanes";

/**
 * What the engine saves, one row per pack (and one per site, packId `_site`): the pack's lanes,
 * its usage history, its health and, per rule, the episode the rule is in with the kind's own state. Checked
 * when loaded: a row that does not fit is reported and the pack starts afresh; a rule's kind state
 * that does not fit its kind is reported and that rule starts afresh (kinds/kind-module.ts).
 */

const RuleKindName = RuleDefinition.options.map((o) => o.shape.kind.value);

/** One rule's episode on one lane of a pack. */
export const SlotState = z.object({
  /** The rule's kind when it was saved: a rule whose kind changed in the rule file starts afresh. */
  kind: z.enum(RuleKindName as [string, ...string[]]),
  /** The severity of the episode the rule is in; null when it does not hold. */
  active: Severity.nullable(),
  /** When the episode's first level started to hold. */
  since: z.number().optional(),
  lastFiredAt: z.number().optional(),
  /** The rules whose case took this episode (explanation). */
  attachedTo: z.array(z.string()).max(32).optional(),
  /** The kind's own state. */
  s: z.unknown(),
});
export type SlotState = z.infer<typeof SlotState>;

const Slots = z.record(z.string(), SlotState);

export const PackState = z.object({
  v: z.literal(1),
  lanes: LanesState,
  usage: UsageHistoryState,
  /**
   * The pack's health (warranty/health-state.ts: stress tally, SOH estimator, resistance, cell
   * balance), versioned and checked on its own so that a part that does not fit starts afresh
   * without the rule states; absent in rows saved before it was kept.
   */
  health: z.unknown().optional(),
  /** Rule ID → its episode on the live lane. */
  live: Slots,
  /** Rule ID → its episode on the backfill lane, while a gap is back-filled. */
  backfill: Slots.optional(),
});
export type PackState = z.infer<typeof PackState>;

export const SiteState = z.object({
  v: z.literal(1),
  /** When the ingestion last heard from the site (its clock). */
  lastArrival: z.number().nullable(),
  /** Rule ID → its episode (site-offline). */
  rules: Slots,
});
export type SiteState = z.infer<typeof SiteState>;
