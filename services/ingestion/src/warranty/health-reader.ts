import { type Chemistry, Chemistry as ChemistrySchema, type PackHealth, SITE_PACK_ID } from "@bms/shared";
import type { PackStateRow, RuleLedger } from "@bms/storage";
import type { RuleBook } from "../rules/rule-book";
import { packHealthReport } from "./health-report";
import { HealthState } from "./health-state";

/**
 * Pack health read from the case store, without the engine: the pack state rows the ingestion
 * commits (RuleLedger.loadStates), their `health` part checked with its schema, and the pack's
 * warranty terms and health settings resolved from the same rule book (by the chemistry and
 * product the part records). For the live service's health API and the monthly reports.
 */

/** The health part of a saved pack row; null when it has none or it does not fit (a pack still counted afresh). */
export function healthOfRow(row: PackStateRow): HealthState | null {
  const state = row.state;
  if (typeof state !== "object" || state === null || !("health" in state)) return null;
  const parsed = HealthState.safeParse((state as { health: unknown }).health);
  return parsed.success ? parsed.data : null;
}

/** The API answer for one saved row. */
export function reportOfRow(book: RuleBook, row: PackStateRow, health: HealthState, now: number): PackHealth {
  const chemistry = ChemistrySchema.safeParse(health.pack.chemistry);
  const resolved = book.resolve(row.siteId, row.packId, chemistry.success ? (chemistry.data as Chemistry) : undefined, health.pack.model ?? undefined);
  return packHealthReport(row.siteId, row.packId, health, resolved.warranty, resolved.health, now);
}

/** One pack's health, or null when the store has no health for it. */
export async function readPackHealth(
  ledger: Pick<RuleLedger, "loadStates">,
  book: RuleBook,
  siteId: string,
  packId: string,
  now: number,
): Promise<PackHealth | null> {
  const [row] = await ledger.loadStates([{ siteId, packId }]);
  const health = row ? healthOfRow(row) : null;
  return row && health ? reportOfRow(book, row, health, now) : null;
}

/** Every pack's health the store has, of the sites `wanted` accepts. */
export async function readAllPackHealth(
  ledger: Pick<RuleLedger, "loadStates">,
  book: RuleBook,
  wanted: (siteId: string) => boolean,
  now: number,
): Promise<PackHealth[]> {
  const out: PackHealth[] = [];
  for (const row of await ledger.loadStates()) {
    if (row.packId === SITE_PACK_ID || !wanted(row.siteId)) continue;
    const health = healthOfRow(row);
    if (health) out.push(reportOfRow(book, row, health, now));
  }
  return out.sort((a, b) => a.siteId.localeCompare(b.siteId) || a.packId.localeCompare(b.packId));
}
