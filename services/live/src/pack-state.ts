import type { PackMeta, PackSample, PackView, SitePackSample, SiteStatus } from "@bms/shared";

interface PackEntry {
  siteId: string;
  packId: string;
  latest: PackSample | null;
  receivedAt: number | null;
  meta: PackMeta | null;
  /** Oldest first, by `ts`; at most `historyPerPack` samples. */
  history: PackSample[];
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
 * The latest sample, identity and a bounded history per pack, in memory. Samples an agent replays
 * from its outbox after a reconnect arrive late: they go into the history in time order but never
 * replace a newer latest sample.
 */
export class PackState {
  private readonly packs = new Map<string, PackEntry>();
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
    const created: PackEntry = { siteId, packId, latest: null, receivedAt: null, meta: null, history: [] };
    this.packs.set(key, created);
    return created;
  }

  addSample(siteId: string, packId: string, sample: PackSample, receivedAt: number): AddSampleResult {
    const pack = this.entry(siteId, packId);
    if (!pack) return "pack-limit";
    const history = pack.history;
    // Insert in time order; scanning from the end is O(1) for the usual in-order sample.
    let at = history.length;
    while (at > 0 && (history[at - 1]?.ts ?? 0) > sample.ts) at--;
    const previous = history[at - 1];
    if (previous && previous.ts === sample.ts && previous.seq === sample.seq) return "duplicate";
    history.splice(at, 0, sample);
    if (history.length > this.options.historyPerPack) history.splice(0, history.length - this.options.historyPerPack);
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
  latestSamples(siteId: string, packId?: string): SitePackSample[] {
    const out: SitePackSample[] = [];
    for (const pack of this.packs.values()) {
      if (pack.siteId !== siteId || (packId !== undefined && pack.packId !== packId) || !pack.latest) continue;
      out.push({ ...pack.latest, siteId: pack.siteId, packId: pack.packId });
    }
    return out;
  }

  history(siteId: string, packId: string): PackSample[] | null {
    const pack = this.packs.get(packKey(siteId, packId));
    return pack ? [...pack.history] : null;
  }

  views(): PackView[] {
    return [...this.packs.values()]
      .map((pack) => ({
        siteId: pack.siteId,
        packId: pack.packId,
        sample: pack.latest,
        meta: pack.meta,
        siteStatus: this.siteStatus.get(pack.siteId) ?? null,
        receivedAt: pack.receivedAt,
      }))
      .sort((a, b) => a.siteId.localeCompare(b.siteId) || a.packId.localeCompare(b.packId));
  }
}
