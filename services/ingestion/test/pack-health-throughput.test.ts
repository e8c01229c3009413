import type { PackHealth, PackSample } from "@bms/shared";
import { parseScenario, ScenarioRunner } from "@bms/simulators";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import { RuleBook } from "../src/rules/rule-book";
import type { RuleInput } from "../src/rules/rule-engine";
import { readPackHealth } from "../src/warranty/health-reader";
import { type FastEngine, sendMeta, snapshotToSample, startFastEngine } from "./fixtures/scenario-feed";

/**
 * A simulated month of two packs sampled every minute, with a 36-hour outage of the site whose
 * samples the agent keeps and sends after it (its outbox backlog, oldest first, alongside the live
 * samples): the ingestion's throughput and equivalent full cycles against the simulator's own
 * integral of the current and power at its terminals.
 */

const SITE = "month";
const T0 = Date.UTC(2025, 2, 1);
const INTERVAL_S = 60;
const DAYS = 30;
const OUTAGE = { fromS: 10 * 86_400, toS: 11.5 * 86_400 };
const BACKLOG_PER_BATCH = 30;

describe("throughput over a simulated month with an outage and its backlog", () => {
  let dir: TempDir;
  let fast: FastEngine;
  const health = new Map<string, PackHealth>();
  const truth = new Map<string, { chargedAh: number; dischargedAh: number; chargedKWh: number; dischargedKWh: number; ratedAh: number }>();
  let counted = 0;

  beforeAll(async () => {
    dir = makeTempDir("bms-month-");
    fast = await startFastEngine(dir.path, { now: T0 });
    const scenario = parseScenario({
      name: "month",
      seed: 5,
      packs: [
        { capacityAh: 100, load: { kind: "cycle" } },
        { capacityAh: 50, load: { kind: "daily", pvPeakA: 20, baseLoadA: 2, eveningLoadA: 8 } },
      ],
      durationS: DAYS * 86_400,
      intervalS: INTERVAL_S,
      // 5 s physics steps: a month of two packs in a fifth of the work; the integral is the stepped current's all the same.
      stepS: 5,
    });
    const runner = new ScenarioRunner(scenario);
    sendMeta(fast.engine, runner, { siteId: SITE, t0: T0 });
    const start = new Map(runner.packs.map((p) => [p.unitId, { ...p.snapshot().throughput }]));
    const backlog: RuleInput[] = [];
    let seq = 0;
    for (let t = INTERVAL_S; t <= DAYS * 86_400; t += INTERVAL_S) {
      runner.advance(INTERVAL_S);
      const ts = T0 + t * 1000;
      const samples: RuleInput[] = runner.packs.map((pack) => {
        const sample: PackSample = snapshotToSample(pack.snapshot(), ts, ++seq);
        return { kind: "sample", siteId: SITE, packId: `pack-${pack.unitId}`, sample, arrivedAt: ts };
      });
      counted += samples.length;
      if (t > OUTAGE.fromS && t <= OUTAGE.toS) {
        backlog.push(...samples);
        continue;
      }
      // After the outage the agent sends what it reads now and, in the rest of its window, its backlog.
      await fast.engine.run([...samples, ...backlog.splice(0, BACKLOG_PER_BATCH)]);
    }
    expect(backlog).toHaveLength(0);
    await fast.engine.checkpoint();
    const book = RuleBook.load();
    for (const pack of runner.packs) {
      const packId = `pack-${pack.unitId}`;
      const end = pack.snapshot().throughput as NonNullable<ReturnType<typeof pack.snapshot>["throughput"]>;
      // The ingestion counts from its first sample on: the simulator's integral from there.
      const from = start.get(pack.unitId) as typeof end;
      truth.set(packId, {
        chargedAh: end.chargedAh - from.chargedAh,
        dischargedAh: end.dischargedAh - from.dischargedAh,
        chargedKWh: end.chargedKWh - from.chargedKWh,
        dischargedKWh: end.dischargedKWh - from.dischargedKWh,
        ratedAh: pack.model.capacityAh,
      });
      health.set(packId, (await readPackHealth(fast.store, book, SITE, packId, T0 + DAYS * 86_400_000)) as PackHealth);
    }
    // A guard, not a speed test: a month of simulation on a loaded 2-core machine.
  }, 600_000);

  afterAll(async () => {
    await fast?.close();
    dir?.remove();
  });

  it("matches the simulator's integral to within 1 %, the backlog included", async () => {
    // Every sample of the outage came through the backfill lane (36 h of minutes, two packs).
    expect((await fast.metrics.ruleSamplesBackfilled.get()).values[0]?.value).toBe(2 * 36 * 60);
    for (const [packId, h] of health) {
      const t = truth.get(packId) as NonNullable<ReturnType<typeof truth.get>>;
      const efc = (t.chargedAh + t.dischargedAh) / (2 * t.ratedAh);
      const rows: [string, number, number][] = [
        ["chargedAh", h.chargedAh, t.chargedAh],
        ["dischargedAh", h.dischargedAh, t.dischargedAh],
        ["chargedKWh", h.chargedKWh, t.chargedKWh],
        ["dischargedKWh", h.dischargedKWh, t.dischargedKWh],
        ["throughputAh", h.throughputAh, t.chargedAh + t.dischargedAh],
        ["equivalentFullCycles", h.equivalentFullCycles, efc],
      ];
      console.log(
        `${packId}: ${rows.map(([name, got, want]) => `${name} ${got.toFixed(3)} vs ${want.toFixed(3)} (${(((got - want) / want) * 100).toFixed(3)} %)`).join(", ")}`,
      );
      for (const [name, got, want] of rows) expect(Math.abs(got - want) / want, `${packId} ${name}`).toBeLessThan(0.01);
      // Every minute counted once: the month less the first sample's minute, in the stress grid too.
      const hours = DAYS * 24 - INTERVAL_S / 3600;
      expect(h.operatingHours).toBeCloseTo(hours, 3);
      expect(Object.values(h.stressHours).reduce((a, b) => a + b, 0)).toBeCloseTo(hours, 1);
      expect(Object.values(h.cRateHours).reduce((a, b) => a + b, 0)).toBeCloseTo(hours, 1);
      for (const key of Object.keys(h.cRateHours)) expect(key).toMatch(/^(rest|(charge|discharge) (below [\d.]+ C|[\d.]+-[\d.]+ C|[\d.]+ C and above))$/);
      expect(Object.keys(h.cRateHours).some((k) => k.startsWith("charge "))).toBe(true);
      expect(Object.keys(h.cRateHours).some((k) => k.startsWith("discharge "))).toBe(true);
      expect(h.months.map((m) => m.month)).toEqual(["2025-03"]);
      expect(h.months[0]?.dischargedAh).toBeCloseTo(h.dischargedAh, 1);
    }
    expect(counted).toBe(2 * DAYS * 1440);
  });
});
