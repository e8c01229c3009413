import type { PackHistoryPoint, PackMeta, PackSample, PackView, SitePackSample, SiteStatus } from "@bms/shared";
import { PackHistory } from "./pack-history";

export interface PackEntry {
  siteId: string;
  packId: string;
  latest: PackSample | null;
  receivedAt: number | null;
  meta: PackMeta | null;
  /** Created with the pack's first sample. */
  history: PackHistory | null;
}

export interface PackStateOptions {
  historyPerPack: number;
  maxPacks: number;
}

/** What `addSample` did: `latest` means it became the pack's newest sample and is worth forwarding. */
export type AddSampleResult = "latest" | "history" | "duplicate" | "pack-limit";

function packKey(siteId: string, packId: string): string {
  return `${siteId}/${packId}`;
}

/**
 * The latest sample, identity and a bounded, compact history per pack, in memory. Samples an agent
 * replays from its outbox after a reconnect arrive late: they go into the history in time order but
 * never replace a newer latest sample.
 */
export class PackState {
  private readonly packs = new Map<string, PackEntry>();
  /** siteId → its packs, so that a site's snapshot does not scan every pack. */
  private readonly bySite = new Map<string, Map<string, PackEntry>>();
  private readonly siteStatus = new Map<string, SiteStatus>();

  constructor(private readonly options: PackStateOptions) {}

  get packCount(): number {
    return this.packs.size;
  }

  private entry(siteId: string, packId: string): PackEntry | null {
    const key = packKey(siteId, packId);
    const found = this.packs.get(key);
    if (found) return found;
    if (this.packs.size >= this.options.maxPacks) return null;
    const created: PackEntry = { siteId, packId, latest: null, receivedAt: null, meta: null, history: null };
    this.packs.set(key, created);
    const site = this.bySite.get(siteId) ?? new Map<string, PackEntry>();
    site.set(packId, created);
    this.bySite.set(siteId, site);
    return created;
  }

  addSample(siteId: string, packId: string, sample: PackSample, receivedAt: number): AddSampleResult {
    const pack = this.entry(siteId, packId);
    if (!pack) return "pack-limit";
    pack.history ??= new PackHistory(this.options.historyPerPack);
    if (pack.history.insert(sample) === "duplicate") return "duplicate";
    if (pack.latest === null || sample.ts >= pack.latest.ts) {
      pack.latest = sample;
      pack.receivedAt = receivedAt;
      return "latest";
    }
    return "history";
  }

  /** False when the pack limit is reached. */
  setMeta(siteId: string, packId: string, meta: PackMeta): boolean {
    const pack = this.entry(siteId, packId);
    if (!pack) return false;
    pack.meta = meta;
    return true;
  }

  setSiteStatus(siteId: string, status: SiteStatus): void {
    // One entry per site that has packs or is about to: bounded by maxPacks as well.
    if (!this.siteStatus.has(siteId) && this.siteStatus.size >= this.options.maxPacks) return;
    this.siteStatus.set(siteId, status);
  }

  /** Latest samples of one site (or one pack of it), for a new subscriber. */
  *latestSamples(siteId: string, packId?: string): Generator<SitePackSample> {
    const site = this.bySite.get(siteId);
    if (!site) return;
    const packs = packId === undefined ? site.values() : [site.get(packId)];
    for (const pack of packs) if (pack?.latest) yield { ...pack.latest, siteId: pack.siteId, packId: pack.packId };
  }

  /** This service has heard of the pack (a sample or its identity). */
  knows(siteId: string, packId: string): boolean {
    return this.packs.has(packKey(siteId, packId));
  }

  /** The pack's points with from ≤ ts ≤ to, oldest first; null for a pack this service does not know. */
  history(siteId: string, packId: string, from: number, to: number): PackHistoryPoint[] | null {
    const pack = this.packs.get(packKey(siteId, packId));
    if (!pack) return null;
    return pack.history?.points(from, to) ?? [];
  }

  /** Every pack of the sites `visible` lets through, as held (read only). */
  *entries(visible: (siteId: string) => boolean): Generator<Readonly<PackEntry>> {
    for (const [siteId, site] of this.bySite) if (visible(siteId)) yield* site.values();
  }

  /** Every known agent status of the sites `visible` lets through. */
  *siteStatuses(visible: (siteId: string) => boolean): Generator<readonly [string, SiteStatus]> {
    for (const entry of this.siteStatus) if (visible(entry[0])) yield entry;
  }

  /** The site's agent status (retained `bms/{siteId}/status`), where known. */
  siteStatusOf(siteId: string): SiteStatus | null {
    return this.siteStatus.get(siteId) ?? null;
  }

  /** One pack as GET /api/packs lists it; null for a pack this service does not know. */
  view(siteId: string, packId: string): PackView | null {
    const pack = this.packs.get(packKey(siteId, packId));
    if (!pack) return null;
    return { siteId, packId, sample: pack.latest, meta: pack.meta, siteStatus: this.siteStatus.get(siteId) ?? null, receivedAt: pack.receivedAt };
  }

  /** Every pack `visible` lets through, by site then pack. */
  views(visible: (siteId: string) => boolean = () => true): PackView[] {
    const out: PackView[] = [];
    for (const [siteId, site] of this.bySite) {
      if (!visible(siteId)) continue;
      for (const pack of site.values()) {
        out.push({
          siteId: pack.siteId,
          packId: pack.packId,
          sample: pack.latest,
          meta: pack.meta,
          siteStatus: this.siteStatus.get(pack.siteId) ?? null,
          receivedAt: pack.receivedAt,
        });
      }
    }
    return out.sort((a, b) => a.siteId.localeCompare(b.siteId) || a.packId.localeCompare(b.packId));
  }
}
