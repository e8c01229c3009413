import { Client } from "pg";
import { afterEach, describe, expect, it } from "vitest";
import type { PostgresStores } from "../../src/postgres/postgres-stores";
import type { RuleCommand } from "../../src/rule-ledger";
import { firing, sample, T0 } from "../case-fixtures";
import { postgresForFile } from "./pg-stores-support";

// Several ingestion workers and live nodes share one database: here two store instances with pools
// of their own play two processes.

const pg = postgresForFile();
const opened: PostgresStores[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

/** Two workers on the same schema. */
async function twoWorkers(schemaFile: string): Promise<[PostgresStores, PostgresStores]> {
  const a = await pg.stores(schemaFile);
  const b = await pg.stores(schemaFile);
  opened.push(a, b);
  return [a, b];
}

describe("PostgreSQL stores shared by several processes", () => {
  it("two workers racing 50 times on the same firing open exactly one case each time", async () => {
    const [a, b] = await twoWorkers("race");
    for (let i = 0; i < 50; i++) {
      const same = firing({ packId: `race-${i}`, at: T0 + i });
      const outcomes = await Promise.all([a.cases.recordFiring(same), b.cases.recordFiring(same)]);
      expect(outcomes.map((r) => r.outcome).sort()).toEqual(["duplicate", "opened"]);
      expect(outcomes[0].case.id).toBe(outcomes[1].case.id);
      // Two different episodes of the same rule at once: one opens, the other counts on it.
      const [x, y] = await Promise.all([
        a.cases.commit([{ kind: "fire", firing: firing({ packId: `both-${i}`, at: T0 + i }) }], []),
        b.cases.commit([{ kind: "fire", firing: firing({ packId: `both-${i}`, at: T0 + i }) }], []),
      ]);
      const results = [...(x ?? []), ...(y ?? [])].map((r) => (r.kind === "fire" ? r.result.outcome : r.kind));
      expect(results.sort()).toEqual(["occurrence", "opened"]);
    }
    const cases = await a.cases.list({ limit: 1000 });
    expect(cases).toHaveLength(100);
    expect(cases.filter((c) => c.packId.startsWith("race-")).every((c) => c.occurrences === 1)).toBe(true);
    expect(cases.filter((c) => c.packId.startsWith("both-")).every((c) => c.occurrences === 2)).toBe(true);
    const opening = (await a.cases.timelineSince(0, 10_000)).filter((e) => e.kind === "opened");
    expect(opening).toHaveLength(100);
  });

  it("the database itself refuses a second case of (site, pack, rule) that is not closed", async () => {
    const [a] = await twoWorkers("unique");
    const { case: c } = await a.cases.recordFiring(firing());
    const client = new Client(pg.url);
    await client.connect();
    try {
      await client.query(`SET search_path TO ${pg.schemaFor("unique")}`);
      await expect(
        client.query(
          `INSERT INTO support_cases (id, site_id, pack_id, rule_id, severity, status, title, opened_at, updated_at, occurrences, last_occurrence_at, evidence)
           VALUES ('intruder', $1, $2, $3, 'major', 'acknowledged', 'x', 1, 1, 1, 1, '{}')`,
          [c.siteId, c.packId, c.ruleId],
        ),
      ).rejects.toThrow(/support_cases_one_current/);
    } finally {
      await client.end();
    }
  });

  it("a batch replayed by the worker that takes over, or by both at once, changes nothing twice", async () => {
    const [a, b] = await twoWorkers("replay");
    const opening = firing({ freezeFrameBefore: [sample(T0)] });
    const batch: RuleCommand[] = [
      { kind: "fire", firing: opening },
      { kind: "freeze-frame", firingKey: opening.firingKey, after: [sample(T0 + 1000), sample(T0 + 2000)], complete: false },
      { kind: "clear", siteId: "site-1", packId: "pack-1", ruleId: "cell-over-voltage", at: T0 + 3000 },
      { kind: "fire", firing: firing({ at: T0 + 4000 }) },
      { kind: "fire", firing: firing({ at: T0 + 5000, severity: "critical", escalation: true }) },
    ];
    const states = [{ siteId: "site-1", packId: "pack-1", state: { after: "batch" } }];
    await a.cases.commit(batch, states);
    const snapshot = async () => ({
      cases: await b.cases.list(),
      timeline: await b.cases.timelineSince(0, 1000),
      frames: (await b.cases.get((await b.cases.list())[0]?.id ?? "", { details: true }))?.freezeFrames,
      states: await b.cases.loadStates(),
    });
    const once = await snapshot();
    expect(once.cases[0]).toMatchObject({ occurrences: 2, severity: "critical" });
    await b.cases.commit(batch, states);
    expect(await snapshot()).toEqual(once);
    await Promise.all([a.cases.commit(batch, states), b.cases.commit(batch, states)]);
    expect(await snapshot()).toEqual(once);
  });

  it("never loses an engineer's change to a concurrent one on another node (the pack lock)", async () => {
    const [a, b] = await twoWorkers("engineers");
    const { case: c } = await a.cases.recordFiring(firing());
    const line = { category: "labour", description: "", quantity: 1, unitPrice: 10, currency: "EUR" } as const;
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 3 === 0
          ? (i % 2 === 0 ? a : b).cases.recordFiring(firing({ at: T0 + 100 + i }))
          : (i % 2 === 0 ? a : b).cases.addCostLine(c.id, { ...line, description: `line ${i}` }, "eng", T0 + 100 + i),
      ),
    );
    const after = await a.cases.get(c.id, { details: true });
    expect(after?.costLines).toHaveLength(13);
    expect(after?.occurrences).toBe(8);
    expect(after?.timeline?.filter((e) => e.kind === "cost-line")).toHaveLength(13);
  });
});

describe("PostgreSQL timeline IDs for a cursor reader", () => {
  it("a later transaction cannot show its entries before an earlier one that is still open has committed", async () => {
    const [a] = await twoWorkers("clock");
    await a.cases.recordFiring(firing({ packId: "first" }));
    const cursor = await a.cases.latestTimelineId();
    // Another process has numbered its timeline entry and not committed yet.
    const other = new Client(pg.url);
    await other.connect();
    try {
      await other.query(`SET search_path TO ${pg.schemaFor("clock")}`);
      await other.query("BEGIN");
      const [first] = (await other.query<{ last_id: string }>("UPDATE case_timeline_clock SET last_id = last_id + 1 RETURNING last_id")).rows;
      await other.query(
        "INSERT INTO case_timeline (id, case_id, at, actor, kind, message, status, severity) VALUES ($1, 'other', $2, 'eng', 'note', 'slow', 'open', 'major')",
        [first?.last_id, T0],
      );
      let done = false;
      const later = a.cases.recordFiring(firing({ packId: "second" })).then((r) => {
        done = true;
        return r;
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      // The later writer waits for the clock; a reader sees neither entry yet, so it cannot skip one.
      expect(done).toBe(false);
      expect(await a.cases.timelineSince(cursor, 100)).toEqual([]);
      await other.query("COMMIT");
      await later;
      const seen = await a.cases.timelineSince(cursor, 100);
      expect(seen.map((e) => [e.id - cursor, e.message === "slow" ? "other" : e.kind])).toEqual([
        [1, "other"],
        [2, "opened"],
      ]);
    } finally {
      await other.end();
    }
  });

  it("a reader following the cursor while two workers write sees every entry exactly once, in order", async () => {
    const [a, b] = await twoWorkers("follow");
    let cursor = 0;
    const seen: number[] = [];
    let writing = true;
    const reader = (async () => {
      for (;;) {
        const finished = !writing;
        const page = await a.cases.timelineSince(cursor, 50);
        for (const e of page) seen.push(e.id);
        cursor = page.at(-1)?.id ?? cursor;
        if (finished && page.length === 0) return;
      }
    })();
    await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const store = i % 2 === 0 ? a : b;
        const { case: c } = await store.cases.recordFiring(
          firing({ packId: `p${i % 15}`, ruleId: i < 30 ? "cell-over-voltage" : "over-temperature", at: T0 + i }),
        );
        await store.cases.addNote(c.id, `note ${i}`, "eng", T0 + i);
      }),
    );
    writing = false;
    await reader;
    const all = (await a.cases.timelineSince(0, 10_000)).map((e) => e.id);
    expect(all).toHaveLength(120);
    expect(seen).toEqual(all);
    expect(all).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
  });
});
