import { SITE_PACK_ID } from "@bms/shared";
import type { RuleInput } from "./rule-input";

export interface StateKey {
  siteId: string;
  packId: string;
}

export function stateKey(siteId: string, packId: string): string {
  return `${siteId}/${packId}`;
}

/**
 * Which saved states a partitioned engine holds. A worker holds the packs of the partitions it
 * consumes: a pack's state is loaded from the shared store before its first sample here is looked
 * at, and forgotten when its partition goes (another worker may change it from then on). The
 * sites' own rules (site-offline) are the leader's: it loads a site's state before that site's
 * first input after it became the leader.
 */
export class PackResidency {
  private readonly packs = new Set<string>();
  private readonly sites = new Set<string>();

  holds(siteId: string, packId: string): boolean {
    return this.packs.has(stateKey(siteId, packId));
  }

  /** What to load before `inputs` run: their samples' packs not held yet, and (for the leader) their sites not taken on yet. */
  missing(inputs: readonly RuleInput[], withSites: boolean): StateKey[] {
    const out = new Map<string, StateKey>();
    for (const input of inputs) {
      if (input.kind === "sample" && !this.holds(input.siteId, input.packId)) out.set(stateKey(input.siteId, input.packId), input);
      if (withSites && input.kind !== "meta" && !this.sites.has(input.siteId)) {
        out.set(stateKey(input.siteId, SITE_PACK_ID), { siteId: input.siteId, packId: SITE_PACK_ID });
      }
    }
    return [...out.values()];
  }

  loaded(keys: readonly StateKey[]): void {
    for (const { siteId, packId } of keys) {
      if (packId === SITE_PACK_ID) this.sites.add(siteId);
      else this.packs.add(stateKey(siteId, packId));
    }
  }

  forgetPack(siteId: string, packId: string): void {
    this.packs.delete(stateKey(siteId, packId));
  }

  /** Leadership ended or began: every site's state is loaded again before it is used. */
  forgetSites(): void {
    this.sites.clear();
  }
}
