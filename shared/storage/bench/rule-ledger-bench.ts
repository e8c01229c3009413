// `npx tsx shared/storage/bench/rule-ledger-bench.ts`: RuleLedger.commit, the rule engine's batch
// of 500 pack states (~2 KB of JSON each) with 0, 5 or 50 firings, on a SQLite file against what the
// same work cost before (one recordFiring transaction per firing, then RuleStateStore.save of the
// states), and the same commit() on PostgreSQL 15 (Debian's, started here on a free port: once with
// fsync and synchronous_commit on, as a deployment runs it, once with both off), all in the same
// run. Prints one JSON line per scenario. BENCH_LEDGER_BATCHES (200) sets the batches per scenario.
import { performance } from "node:perf_hooks";
import type { PackSample } from "@bms/shared";
import { type PostgresServer, startPostgres } from "../../../test/support/postgres";
import { makeTempDir } from "../../../test/support/temp-dir";
import type { FiringInput } from "../src/case-store";
import { openPostgresStores } from "../src/postgres/postgres-stores";
import type { PackStateRow, RuleCommand, RuleLedger } from "../src/rule-ledger";
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

type Batches = { commands: RuleCommand[]; states: PackStateRow[] }[];

function batchesOf(firings: number): Batches {
  const states = [0, 1].map((variant) => Array.from({ length: PACKS }, (_, p) => packState(p, variant)));
  const before = Array.from({ length: 60 }, (_, s) => sample(T0 - (60 - s) * 1000));
  return Array.from({ length: BATCHES }, (_, b) => ({
    commands: Array.from({ length: firings }, (_, i): RuleCommand => ({ kind: "fire", firing: firingOf(b, i, before) })),
    states: states[b % 2] ?? [],
  }));
}

/** Seconds for the batches through `ledger.commit`, one after the other. */
async function commitAll(ledger: RuleLedger, batches: Batches): Promise<number> {
  const t0 = performance.now();
  for (const batch of batches) await ledger.commit(batch.commands, batch.states);
  return (performance.now() - t0) / 1000;
}

/** Seconds for the batches as before: a transaction per firing, then the states in one RuleStateStore.save. */
async function beforeAll(file: string, batches: Batches): Promise<number> {
  const old = openSqliteCaseStore(file);
  const oldStates = openSqliteRuleStateStore(file);
  const t0 = performance.now();
  for (const batch of batches) {
    for (const command of batch.commands) if (command.kind === "fire") await old.recordFiring(command.firing);
    await oldStates.save(batch.states.map((r) => ({ ...r, ruleId: "_pack" })));
  }
  const seconds = (performance.now() - t0) / 1000;
  await old.close();
  await oldStates.close();
  return seconds;
}

/** Seconds on a fresh PostgreSQL schema. */
async function onPostgres(server: PostgresServer, url: string, schema: string, batches: Batches): Promise<number> {
  const stores = await openPostgresStores(url, { schema });
  try {
    return await commitAll(stores.cases, batches);
  } finally {
    await stores.close();
    await server.admin(`DROP SCHEMA ${schema} CASCADE`, new URL(url).pathname.slice(1));
  }
}

interface Servers {
  durable: { server: PostgresServer; url: string };
  noFsync: { server: PostgresServer; url: string };
}

/** Seconds of one round: commit() on SQLite, as before on SQLite, commit() on PostgreSQL with and without fsync. */
interface Round {
  commitS: number;
  beforeS: number;
  pgS: number;
  pgNoFsyncS: number;
}

/** One round of each, on fresh files and schemas. */
async function round(firings: number, dir: string, n: number, pg: Servers): Promise<Round> {
  const batches = batchesOf(firings);
  const store = openSqliteCaseStore(`${dir}/cases-${n}.db`);
  const commitS = await commitAll(store, batches);
  await store.close();
  const beforeS = await beforeAll(`${dir}/old-${n}.db`, batches);
  const pgS = await onPostgres(pg.durable.server, pg.durable.url, `bench_${firings}_${n}`, batches);
  const pgNoFsyncS = await onPostgres(pg.noFsync.server, pg.noFsync.url, `bench_${firings}_${n}`, batches);
  return { commitS, beforeS, pgS, pgNoFsyncS };
}

async function scenario(firings: number, pg: Servers): Promise<Record<string, number>> {
  const dir = makeTempDir("bms-ledger-bench-");
  try {
    // Best of three: the machine is shared, the best run is the least disturbed one.
    const rounds: Round[] = [];
    for (let n = 0; n < 3; n++) rounds.push(await round(firings, dir.path, n, pg));
    const best = (key: keyof Round) => Math.min(...rounds.map((r) => r[key]));
    const perS = (seconds: number) => Math.round(BATCHES / seconds);
    return {
      firingsPerBatch: firings,
      statesPerBatch: PACKS,
      stateJsonBytes: JSON.stringify(packState(0, 0).state).length,
      batchesPerS: perS(best("commitS")),
      stateRowsPerS: Math.round((BATCHES * PACKS) / best("commitS")),
      firingsPerS: Math.round((BATCHES * firings) / best("commitS")),
      beforeBatchesPerS: perS(best("beforeS")),
      speedup: Math.round((best("beforeS") / best("commitS")) * 100) / 100,
      postgresBatchesPerS: perS(best("pgS")),
      postgresVsSqlite: Math.round((best("commitS") / best("pgS")) * 100) / 100,
      postgresNoFsyncBatchesPerS: perS(best("pgNoFsyncS")),
    };
  } finally {
    dir.remove();
  }
}

const durable = await startPostgres({ durable: true });
const noFsync = await startPostgres();
try {
  const pg: Servers = {
    durable: { server: durable, url: await durable.createDatabase() },
    noFsync: { server: noFsync, url: await noFsync.createDatabase() },
  };
  for (const firings of [0, 5, 50]) process.stdout.write(`rule ledger: ${JSON.stringify(await scenario(firings, pg))}\n`);
} finally {
  await durable.stop();
  await noFsync.stop();
}
