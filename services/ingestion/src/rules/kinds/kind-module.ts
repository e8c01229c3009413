import type { RuleKind, RuleOfKind } from "@bms/shared/config/rules-config";
import type { z } from "zod";
import type { PackObservation } from "../pack-observation";
import type { RuleStep } from "../rule-step";

/**
 * What a rule kind is: the shape of its saved state, how a rule of that kind starts, and how it
 * reacts to what the engine feeds it. The engine holds one RuleInstance per (pack lane, rule); a
 * kind module never calls back into the engine: it gets what it needs in the arguments below and
 * answers with a RuleStep (rule-step.ts), which the engine turns into firings and clears.
 */

/** A rule definition with the ID it has in the rule file. */
export type RuleOf<K extends RuleKind> = RuleOfKind<K> & { id: string };
export type AnyRule = RuleOf<RuleKind>;

/** What a rule may ask about its pack's other rules while it looks at a sample. */
export interface SampleContext {
  /** The rule is active on this lane, or fired within the explain window before `at`. */
  firedRecently(ruleId: string, at: number): boolean;
  /** The median interval between the lane's recent samples, ms (null until it has seen a few). */
  usualIntervalMs: number | null;
}

/** The site's own clock, as no-data sees it. */
export interface SiteClockView {
  /** The newest ts the site reported (samples, status). */
  clock: number;
  /**
   * Since when a pack whose last sample is at `lastTs` counts as silent: stretches longer than the
   * timeout in which the whole site was silent (an outage) do not count.
   */
  silentSince(lastTs: number, timeoutMs: number): number;
}

/** What site-offline knows of its site, on the ingestion's clock. */
export interface SiteLinkView {
  siteId: string;
  /** When the ingestion last heard from the site (sample or status). */
  lastArrival: number;
  /** When the agent said it went offline (null while online). */
  offlineSince: number | null;
  /** The ingestion started less than this long ago: what the broker kept may still be arriving. */
  startedAt: number;
}

/** One device's poll counters from the agent's status (`agent.devices[]`). */
export interface DeviceCounters {
  polls: number;
  errors: number;
  lastError?: string | undefined;
  lastOkTs?: number | undefined;
}

/** One rule on one lane of one pack (or on a site): its state and how it reacts. */
export interface RuleInstance {
  /** The kind's state as it is saved in the pack's row (plain JSON). */
  saved(): unknown;
  /** A sample of the lane (plausible readings in `obs`). */
  sample?(obs: PackObservation, context: SampleContext): RuleStep | null;
  /** The site's clock moved on (no-data). */
  siteClock?(site: SiteClockView): RuleStep | null;
  /** The agent reported this pack's device counters (link-errors), at the status's ts. */
  deviceStatus?(device: DeviceCounters, ts: number): RuleStep | null;
  /** The ingestion's clock ticks (site-offline). */
  tick?(site: SiteLinkView, now: number): RuleStep | null;
  /** The site was heard from (site-offline). */
  heard?(at: number): RuleStep | null;
}

/** The pack (or the site, packId `_site`) a rule instance watches. */
export interface RuleSubject {
  siteId: string;
  packId: string;
}

/** A kind in the registry: makes instances from a rule and its saved state. */
export interface KindDefinition {
  /** `saved` is what the pack's row held (undefined for a new rule); a state that does not fit the kind's schema is reported through `invalid` and the rule starts afresh. */
  create(rule: AnyRule, subject: RuleSubject, saved: unknown, invalid: (problem: string) => void): RuleInstance;
}

/** The parts of a kind module that know its state's type. */
export interface KindModule<K extends RuleKind, S, X> {
  kinds: readonly K[];
  /** The saved state's shape, checked when it is loaded. */
  state: z.ZodType<S>;
  newState(rule: RuleOf<K>): S;
  /** Memory-only working data (windows of recent points), rebuilt after a restart. */
  newScratch(): X;
  instance(rule: RuleOf<K>, state: S, scratch: X, subject: RuleSubject): Omit<RuleInstance, "saved">;
}

function isOfKind<K extends RuleKind>(rule: AnyRule, kinds: readonly K[]): rule is RuleOf<K> {
  return (kinds as readonly RuleKind[]).includes(rule.kind);
}

/** Wraps a kind module into the registry's shape: saved state validated, a bad one reported and reset. */
export function defineKind<K extends RuleKind, S, X>(module: KindModule<K, S, X>): KindDefinition {
  return {
    create(rule, subject, saved, invalid) {
      if (!isOfKind(rule, module.kinds)) throw new Error(`rule ${rule.id} is a ${rule.kind} rule, not ${module.kinds.join(" or ")}`);
      let state = module.newState(rule);
      if (saved !== undefined) {
        const parsed = module.state.safeParse(saved);
        if (parsed.success) state = parsed.data;
        else invalid(`${parsed.error.issues[0]?.path.join(".") || "(state)"}: ${parsed.error.issues[0]?.message ?? "invalid"}`);
      }
      return { saved: () => state, ...module.instance(rule, state, module.newScratch(), subject) };
    },
  };
}
