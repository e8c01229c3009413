import type { CaseStatus, Logger, Severity, SupportCase } from "@bms/shared";
import type { CaseStore } from "@bms/storage";

/** What fleet triage needs of a case. */
export interface CaseSummary {
  id: string;
  siteId: string;
  packId: string;
  severity: Severity;
  status: CaseStatus;
  updatedAt: number;
}

/** Cases an engineer is working (resolved ones wait for the customer and closed ones are done): they set a pack's triage state. */
export function isWorked(status: CaseStatus): boolean {
  return status !== "resolved" && status !== "closed";
}

export interface CaseIndexOptions {
  /** A full reload at most this often, to catch what no event told (another process's engineer change while MQTT was away). @default 60000 */
  reloadEveryMs?: number;
  /** @default Date.now */
  now?: () => number;
}

/** Largest list the store returns in one call. */
const RELOAD_LIMIT = 10_000;

/**
 * The cases being worked, per pack, in memory: loaded from the store, kept current by the case
 * events the live service sees (its own engineers' changes and every other process's over MQTT),
 * and reloaded now and then. Fleet triage reads it for every request without touching the store.
 */
export class CaseIndex {
  private readonly cases = new Map<string, CaseSummary>();
  private loadedAt = Number.NEGATIVE_INFINITY;
  private loading: Promise<void> | null = null;
  /** Events that arrived while a reload was reading the store: applied again after it. */
  private readonly duringLoad: SupportCase[] = [];
  private readonly reloadEveryMs: number;
  private readonly now: () => number;

  constructor(
    private readonly store: CaseStore,
    private readonly log: Logger,
    options: CaseIndexOptions = {},
  ) {
    this.reloadEveryMs = options.reloadEveryMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  /** A case event: the case's new state replaces what was known. */
  apply(c: SupportCase): void {
    if (this.loading !== null) this.duringLoad.push(c);
    this.set(c);
  }

  /** Events of one case can arrive out of order (this service's own change, another's over MQTT): the newest state wins. */
  private set(c: SupportCase): void {
    const known = this.cases.get(c.id);
    if (known && known.updatedAt > c.updatedAt) return;
    // Cases no longer worked stay as tombstones until the next reload, so that an older event cannot revive them.
    this.cases.set(c.id, { id: c.id, siteId: c.siteId, packId: c.packId, severity: c.severity, status: c.status, updatedAt: c.updatedAt });
  }

  /** The worked cases, reloaded first when the last load is older than `reloadEveryMs`. */
  async current(): Promise<readonly CaseSummary[]> {
    if (this.now() - this.loadedAt >= this.reloadEveryMs) {
      this.loading ??= this.reload().finally(() => {
        this.loading = null;
      });
      await this.loading;
    }
    return [...this.cases.values()].filter((c) => isWorked(c.status));
  }

  private async reload(): Promise<void> {
    const started = this.now();
    const active = await this.store.list({ status: ["open", "acknowledged", "remote-diagnosis", "on-site-visit"], limit: RELOAD_LIMIT });
    if (active.length === RELOAD_LIMIT) this.log.warn({ limit: RELOAD_LIMIT }, "fleet triage sees only the newest cases being worked");
    this.cases.clear();
    for (const c of [...active, ...this.duringLoad.splice(0)]) this.set(c);
    this.loadedAt = started;
  }
}
