import { type Logger, type PackMeta, SITE_PACK_ID } from "@bms/shared";
import type { OpenFreezeFrame, PackStateRow, RuleLedger } from "@bms/storage";
import type { IngestionMetrics } from "../ingestion-metrics";
import { stateKey as packKey, type StateKey } from "./pack-residency";
import { PackRules } from "./pack-rules";
import type { ResolvedRules, RuleBook } from "./rule-book";
import { PackState, SiteState } from "./rule-state";
import { SiteRules } from "./site-rules";

export interface RuleHoldersOptions {
  book: RuleBook;
  metrics: IngestionMetrics;
  log: Logger;
  now: () => number;
  /** Partitioned: a restored site row is adopted by the site already known from its packs' samples. */
  partitioned: boolean;
}

/**
 * The rule state in memory: one holder per pack (`PackRules`) and per site (`SiteRules`), made on
 * first use or restored from a saved row (a row that does not fit is reported, and its pack
 * starts afresh), and the rows of those that changed, for the engine's commit.
 */
export class RuleHolders {
  readonly packs = new Map<string, PackRules>();
  readonly sites = new Map<string, SiteRules>();
  /** Every pack's meta seen (kept when a partitioned worker forgets the pack's state). */
  private readonly metas = new Map<string, PackMeta>();

  constructor(private readonly options: RuleHoldersOptions) {}

  /** The pack's rules: by its chemistry, and its product (meta model) for the warranty terms and health settings. */
  rulesFor(pack: PackRules): ResolvedRules {
    // Kept on the pack until its meta changes (the book is fixed while the process runs): the
    // book's lookup builds its key strings, and this runs for every sample.
    if (pack.resolved === null || pack.resolved.meta !== pack.meta) {
      const rules = this.options.book.resolve(pack.subject.siteId, pack.subject.packId, pack.meta?.chemistry, pack.meta?.model);
      pack.resolved = { meta: pack.meta, rules };
    }
    return pack.resolved.rules;
  }

  site(siteId: string): SiteRules {
    let site = this.sites.get(siteId);
    if (!site) {
      site = new SiteRules(siteId, null, this.options.now(), (ruleId, problem) => this.invalidState(siteId, SITE_PACK_ID, ruleId, problem));
      this.sites.set(siteId, site);
    }
    return site;
  }

  pack(siteId: string, packId: string): PackRules {
    const key = packKey(siteId, packId);
    let pack = this.packs.get(key);
    if (!pack) {
      pack = new PackRules({ siteId, packId }, null, (ruleId, problem) => this.invalidState(siteId, packId, ruleId, problem));
      pack.meta = this.metas.get(key) ?? null;
      this.packs.set(key, pack);
    }
    return pack;
  }

  meta(siteId: string, packId: string, meta: PackMeta): void {
    this.metas.set(packKey(siteId, packId), meta);
    const pack = this.packs.get(packKey(siteId, packId));
    if (pack) pack.meta = meta;
  }

  forget(siteId: string, packId: string): void {
    this.packs.delete(packKey(siteId, packId));
    this.sites.get(siteId)?.packs.delete(packId);
  }

  /** A saved row back into memory; one that does not fit is reported and left out (the pack starts afresh). */
  restore(row: PackStateRow): void {
    const { siteId, packId } = row;
    const report = (ruleId: string, problem: string) => this.invalidState(siteId, packId, ruleId, problem);
    if (packId === SITE_PACK_ID) {
      const parsed = SiteState.safeParse(row.state);
      if (!parsed.success) {
        this.invalidState(siteId, packId, null, parsed.error.issues[0]?.message ?? "invalid");
        return;
      }
      // Partitioned: the site is known here already (its packs' samples); it takes on the saved rules.
      if (this.options.partitioned) this.site(siteId).adopt(parsed.data, this.options.now());
      else this.sites.set(siteId, new SiteRules(siteId, parsed.data, this.options.now(), report));
      return;
    }
    const parsed = PackState.safeParse(row.state);
    if (!parsed.success) {
      this.invalidState(siteId, packId, null, `${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`);
      return;
    }
    const pack = new PackRules({ siteId, packId }, parsed.data, report);
    pack.meta = this.metas.get(packKey(siteId, packId)) ?? null;
    this.packs.set(packKey(siteId, packId), pack);
    const site = this.site(siteId);
    site.packs.add(packId);
    if (pack.lanes.liveTs !== null) site.clock = Math.max(site.clock, pack.lanes.liveTs);
  }

  /**
   * Partitioned: the saved states of these keys (packs' rows and open freeze frames; sites' rows)
   * into memory. A site without a saved row is taken on all the same (its site-offline grace starts now).
   */
  async load(ledger: RuleLedger, keys: readonly StateKey[]): Promise<void> {
    const rows = await ledger.loadStates(keys);
    const packKeys = new Set(keys.filter((k) => k.packId !== SITE_PACK_ID).map((k) => packKey(k.siteId, k.packId)));
    const frames = packKeys.size === 0 ? [] : (await ledger.openFreezeFrames()).filter((f) => packKeys.has(packKey(f.siteId, f.packId)));
    for (const row of rows) this.restore(row);
    const savedSites = new Set(rows.filter((r) => r.packId === SITE_PACK_ID).map((r) => r.siteId));
    for (const k of keys) if (k.packId === SITE_PACK_ID && !savedSites.has(k.siteId)) this.site(k.siteId).adopt(null, this.options.now());
    for (const frame of frames) this.resumeFrame(frame);
  }

  /** A freeze frame whose after-window was open when its pack's state was loaded: it collects from the next sample on. */
  resumeFrame(frame: OpenFreezeFrame): void {
    const pack = this.pack(frame.siteId, frame.packId);
    const settings = this.rulesFor(pack).settings;
    // A frame triggered in the gap being back-filled collects the backlog's samples.
    const backfill = pack.lanes.backfill;
    const lane = backfill && frame.triggerTs < backfill.to ? pack.backfillLane() : pack.live;
    lane.frames.start({
      firingKey: frame.firingKey,
      triggerTs: frame.triggerTs,
      until: frame.triggerTs + settings.freezeFrameAfterS * 1000,
      max: Math.max(0, settings.freezeFrameMaxSamples - frame.after),
      samples: [],
    });
  }

  /**
   * The holders whose state changed (`hard` ones only, or `soft` ones too), with their rows; sites
   * only when `withSites` (a partitioned worker saves them while the leader); at most `softLimit`
   * soft ones. Marked clean: a failed commit must mark them `hard` again.
   */
  takeDirty(level: "hard" | "soft", withSites: boolean, softLimit = Number.POSITIVE_INFINITY): { holders: (PackRules | SiteRules)[]; rows: PackStateRow[] } {
    const holders: (PackRules | SiteRules)[] = [];
    let soft = 0;
    const take = (h: PackRules | SiteRules) => {
      if (h.dirt === "hard") holders.push(h);
      else if (level === "soft" && h.dirt === "soft" && soft < softLimit) {
        soft++;
        holders.push(h);
      }
    };
    for (const h of this.packs.values()) take(h);
    if (withSites) for (const h of this.sites.values()) take(h);
    const rows: PackStateRow[] = holders.map((h) => ({
      siteId: h instanceof PackRules ? h.subject.siteId : h.siteId,
      packId: h instanceof PackRules ? h.subject.packId : SITE_PACK_ID,
      state: h.toState(),
    }));
    for (const h of holders) h.dirt = "clean";
    return { holders, rows };
  }

  private invalidState(siteId: string, packId: string, ruleId: string | null, problem: string): void {
    this.options.metrics.ruleStateInvalid.inc();
    this.options.log.warn({ siteId, packId, ruleId }, `saved rule state does not fit; ${ruleId ? "the rule" : "the pack"} starts afresh: ${problem}`);
  }
}
