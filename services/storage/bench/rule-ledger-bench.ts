// `npx tsx services/storage/bench/rule-ledger-bench.ts`: RuleLedger.commit on a SQLite file, the
// rule engine's batch of 500 pack states (~2 KB of JSON each) with 0, 5 or 50 firings, against
// what the same work cost before (one recordFiring transaction per firing, then
// RuleStateStore.save of the states), measured in the same run. Prints one JSON line per scenario.
// BENCH_LEDGER_BATCHES (200) sets the batches per scenario.
import { performance } from "node:perf_hooks";
import type { PackSample } from "@bms/shared";
import { makeTempDir } from "../../../test/support/temp-dir";
import type { FiringInput } from "../src/case-store";
import type { PackStateRow, RuleCommand } from "../src/rule-ledger";
import { openSqliteCaseStore } from "../src/sqlite-case-store";
import { openSqliteRuleStateStore } from "../src/sqlite-rule-state-store";

const BATCHES = Number(process.env.BENCH_LEDGER_BATCHES ?? 200);
const PACKS = 500;
const T0 = 1_750_000_000_000;

const sample = (ts: number): PackSample => ({
  v: 1,
  ts,
  seq: 1,
  packVoltage: 52.8,
  current: -20,
  soc: 60,
  cellVoltages: Array.from({ length: 16 }, (_, c) => 3.3 + c * 0.001),
  cellTemperatures: Array.from({ length: 8 }, (_, c) => 25 + c * 0.1),
});

/** About 2 KB of JSON: a pack's rule slots, lanes, usage history and plausibility filter. */
function packState(pack: number, batch: number): PackStateRow {
  const rules: Record<string, unknown> = {};
  for (const rule of [
    "cell-over-voltage",
    "cell-under-voltage",
    "pack-over-voltage",
    "over-temperature",
    "under-temperature",
    "cell-imbalance",
    "no-data",
    "sensor-fault",
    "low-soc",
    "bms-alarm",
    "insulation-fault",
    "link-errors",
  ]) {
    rules[rule] = { active: null, since: T0 + batch, s: { pending: { major: { since: T0 + batch * 1000, samples: batch % 5 } }, lastTs: T0 + batch * 1000 } };
  }
  return {
    siteId: `site-${pack % 10}`,
    packId: `pack-${pack}`,
    state: {
      rules,
      lanes: { newestLive: T0 + batch * 1000, gaps: [[T0, T0 + 60_000]], backfill: null },
      usage: { since: T0, seconds: { "over-temperature": 12.5, "charging-below-zero": 0, "over-discharge": 3, "over-current": 1 }, episodes: [1, 0, 2, 1] },
      filter: { flagged: [], lastTemps: [25, 25.1, 25.2, 25.3, 25.4, 25.5, 25.6, 25.7] },
    },
  };
}

function firingOf(batch: number, i: number, before: readonly PackSample[]): FiringInput {
  const pack = (batch * 50 + i) % 1000;
  const detail = `cell 4 at 3.71 V is above 3.65 V (batch ${batch})`;
  return {
    siteId: `site-${pack % 10}`,
    packId: `pack-${pack}`,
    ruleId: "cell-over-voltage",
    severity: "major",
    title: "Cell over-voltage",
    at: T0 + batch * 1000,
    firingKey: `b${batch}-f${i}`,
    escalation: false,
    evidence: {
      sample: sample(T0 + batch * 1000),
      value: 3.71,
      threshold: 3.65,
      index: 3,
      detail,
      meta: null,
      bmsAlarms: ["OVER_VOLT_ALARM"],
      rulesFired: [{ ruleId: "cell-over-voltage", severity: "major", at: T0 + batch * 1000, detail, role: "case" }],
    },
    warranty: null,
    attachTo: [],
    reopenWithinMs: 30 * 86_400_000,
    freezeFrameBefore: before,
  };
}

/** Seconds for BATCHES batches, once through commit() and once as before, on fresh files. */
async function round(firings: number, dir: string, n: number): Promise<{ commitS: number; beforeS: number }> {
  const states = [0, 1].map((variant) => Array.from({ length: PACKS }, (_, p) => packState(p, variant)));
  const before = Array.from({ length: 60 }, (_, s) => sample(T0 - (60 - s) * 1000));
  const batches = Array.from({ length: BATCHES }, (_, b) => Array.from({ length: firings }, (_, i) => firingOf(b, i, before)));

  const store = openSqliteCaseStore(`${dir}/cases-${n}.db`);
  let t0 = performance.now();
  for (const [b, batch] of batches.entries()) {
    await store.commit(
      batch.map((firing): RuleCommand => ({ kind: "fire", firing })),
      states[b % 2] ?? [],
    );
  }
  const commitS = (performance.now() - t0) / 1000;
  await store.close();

  // Before: a transaction per firing, then the states in one RuleStateStore.save.
  const old = openSqliteCaseStore(`${dir}/old-${n}.db`);
  const oldStates = openSqliteRuleStateStore(`${dir}/old-${n}.db`);
  const oldRows = states.map((rows) => rows.map((r) => ({ ...r, ruleId: "_pack" })));
  t0 = performance.now();
  for (const [b, batch] of batches.entries()) {
    for (const firing of batch) await old.recordFiring(firing);
    await oldStates.save(oldRows[b % 2] ?? []);
  }
  const beforeS = (performance.now() - t0) / 1000;
  await old.close();
  await oldStates.close();
  return { commitS, beforeS };
}

async function scenario(firings: number): Promise<Record<string, number>> {
  const dir = makeTempDir("bms-ledger-bench-");
  try {
    // Best of three: the machine is shared, the best run is the least disturbed one.
    const rounds = [];
    for (let n = 0; n < 3; n++) rounds.push(await round(firings, dir.path, n));
    const commitS = Math.min(...rounds.map((r) => r.commitS));
    const beforeS = Math.min(...rounds.map((r) => r.beforeS));
    return {
      firingsPerBatch: firings,
      statesPerBatch: PACKS,
      stateJsonBytes: JSON.stringify(packState(0, 0).state).length,
      batchesPerS: Math.round(BATCHES / commitS),
      stateRowsPerS: Math.round((BATCHES * PACKS) / commitS),
      firingsPerS: Math.round((BATCHES * firings) / commitS),
      beforeBatchesPerS: Math.round(BATCHES / beforeS),
      speedup: Math.round((beforeS / commitS) * 100) / 100,
    };
  } finally {
    dir.remove();
  }
}

for (const firings of [0, 5, 50]) process.stdout.write(`rule ledger: ${JSON.stringify(await scenario(firings))}\n`);
