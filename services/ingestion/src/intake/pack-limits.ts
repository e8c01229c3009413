/**
 * The packs each site has reported, up to a limit: one agent account (or a misbehaving agent) that
 * invents packs cannot grow the ingestion's memory, its rule state or the time-series store's
 * series without bound. Memory is bounded by sites × the limit.
 */
export class PackLimits {
  private readonly packs = new Map<string, Set<string>>();

  constructor(private readonly maxPacksPerSite: number) {}

  /** True when the pack is known or there is room for it (then it is known from now on). */
  admit(siteId: string, packId: string): boolean {
    let known = this.packs.get(siteId);
    if (!known) {
      known = new Set();
      this.packs.set(siteId, known);
    }
    if (known.has(packId)) return true;
    if (known.size >= this.maxPacksPerSite) return false;
    known.add(packId);
    return true;
  }

  /** Why a pack was refused, for the dead letter. */
  reason(siteId: string): string {
    return `site ${siteId} already reports ${this.maxPacksPerSite} packs, the limit (limits.maxPacksPerSite): samples of further packs are refused`;
  }
}
