import { join } from "node:path";
import type { PackSample, SupportCase } from "@bms/shared";
import { openSqliteCaseStore, type PackStateRow } from "@bms/storage";
import type { MqttClient } from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { startAedesBroker } from "../../../test/support/aedes-broker";
import { waitFor } from "../../../test/support/free-port";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import { type FastEngine, startFastEngine } from "./fixtures/scenario-feed";
import {
  baseTs,
  connectPublisher,
  META,
  makeSample,
  metricValue,
  publish,
  startTestIngestion,
  useIngestionTestbed,
  watchCaseEvents,
} from "./ingestion-harness";
import { useIngestionProcess } from "./ingestion-process";

/**
 * The rules see an agent's outbox backlog (edge-agent/src/outbox-publisher.ts): after an outage the
 * agent sends live samples first and the backlog (original ts, oldest first) in the rest of its
 * window. Here a 10-minute outage: live samples up to second 10, then nothing until second 610
 * (the first live sample after the reconnect); the backlog holds seconds 11 to 609.
 */
const LAST_BEFORE = 10;
const FIRST_LIVE = 610;

/** A discharging pack's sample at second `i` (seq `seq`), its voltage the sum of its cells. */
function at(t0: number, i: number, over: Partial<PackSample> = {}, seq = i): PackSample {
  const sample = makeSample(seq, t0 + i * 1000, { current: -12.5, cellVoltages: [3.3, 3.3, 3.3, 3.3], cellTemperatures: temps(30), ...over });
  return { ...sample, packVoltage: Math.round(sample.cellVoltages.reduce((a, b) => a + b, 0) * 100) / 100 };
}

/** 30 °C, warming 1 °C/s from second `up` to `peak`, holding, then cooling 1 °C/s from second `down` (realistic: the plausibility filter believes it). */
function warm(i: number, up: number, down: number, peak: number): number {
  if (i < up) return 30;
  if (i <= down) return Math.min(peak, 30 + (i - up));
  return Math.max(30, peak - (i - down));
}

/** Both sensors move together (a sensor that stands still while the other moves is a stuck sensor); sensor 1 is the hottest. */
function temps(hottest: number): number[] {
  return [hottest - 1, hottest];
}

/** The packs whose saved state has a backfill lane. */
function backfillLanes(rows: readonly PackStateRow[]): string[] {
  return rows.filter((r) => typeof r.state === "object" && r.state !== null && "backfill" in r.state).map((r) => r.packId);
}

/** A rule's saved state on a pack's backfill lane. */
function backfillSlot(rows: readonly PackStateRow[], packId: string, ruleId: string): unknown {
  const state = rows.find((r) => r.packId === packId)?.state as { backfill?: Record<string, unknown> } | undefined;
  return state?.backfill?.[ruleId];
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, k) => from + k);
}

/**
 * What the agent sends after the outage: `liveFirst` live samples, then the backlog in windows of
 * `window`, one live sample between windows (live first, backlog fills the rest), then the live rest.
 */
async function sendAfterOutage(pub: MqttClient, topic: string, live: PackSample[], backlog: PackSample[], liveFirst = 3, window = 100): Promise<void> {
  const rest = [...live];
  for (const s of rest.splice(0, liveFirst)) await publish(pub, topic, s);
  for (let k = 0; k < backlog.length; k += window) {
    for (const s of backlog.slice(k, k + window)) await publish(pub, topic, s);
    const next = rest.shift();
    if (next) await publish(pub, topic, next);
  }
  for (const s of rest) await publish(pub, topic, s);
}

const BACKFILL_NOTE = /Detected from back-filled samples/;

describe("late samples: the backlog an agent sends after an outage goes through the rules", () => {
  const t = useIngestionTestbed();

  async function setUp() {
    t.broker = await startAedesBroker();
    t.caseStore = openSqliteCaseStore(join(t.dir.path, "cases.db"));
    t.ingestion = await startTestIngestion({ mqttUrl: t.broker.url, dataDir: t.dir.path }, { caseStore: t.caseStore });
    t.watcher = await watchCaseEvents(t.broker.url);
    t.publisher = await connectPublisher(t.broker.url);
    return { store: t.caseStore, events: t.watcher, pub: t.publisher, running: t.ingestion };
  }

  /** Stops the ingestion (its rule state saved) and lists the packs whose saved state still has a backfill lane. */
  async function stopAndListBackfillLanes(): Promise<string[]> {
    await t.ingestion?.close();
    t.ingestion = undefined;
    return backfillLanes(await (t.caseStore ?? openSqliteCaseStore(join(t.dir.path, "cases.db"))).loadStates());
  }

  it("a fault during the outage opens one case, triggered and evidenced by the backlog, marked back-filled", async () => {
    const { store, events, pub, running } = await setUp();
    const t0 = baseTs();
    const topic = "bms/b1/p1/telemetry";
    await publish(pub, "bms/b1/p1/meta", META, true);
    // During the outage sensor 1 warms to 54 °C from second 200 (above 50 °C from second 221), holds,
    // and cools from second 400 (below 45 °C at second 410). Live, the pack is back at 30 °C.
    const temp = (i: number) => warm(i, 200, 400, 54);
    for (const i of range(1, LAST_BEFORE)) await publish(pub, topic, at(t0, i));
    const live = range(FIRST_LIVE, FIRST_LIVE + 20).map((i) => at(t0, i));
    const backlog = range(LAST_BEFORE + 1, FIRST_LIVE - 1).map((i) => at(t0, i, { cellTemperatures: temps(temp(i)) }));
    await sendAfterOutage(pub, topic, live, backlog);

    await waitFor(async () => (await store.list())[0]?.clearedAt != null, 15_000, "the case, cleared as the backlog cools");
    const all = await store.list();
    expect(all).toHaveLength(1);
    const c = (await store.get(all[0]?.id ?? "", { details: true })) as SupportCase;
    // Held 30 s from second 221: the trigger is the backlog's sample of second 251, at its own ts.
    expect(c).toMatchObject({ ruleId: "over-temperature", severity: "major", occurrences: 1, openedAt: t0 + 251_000, clearedAt: t0 + 410_000 });
    expect(c.evidence).toMatchObject({ backfilled: true, value: 54, threshold: 50, index: 1 });
    expect(c.evidence.sample?.seq).toBe(251);
    expect(c.evidence.detail).toMatch(BACKFILL_NOTE);
    expect(c.evidence.rulesFired).toEqual([expect.objectContaining({ ruleId: "over-temperature", at: t0 + 251_000, role: "case", backfilled: true })]);
    expect(c.timeline?.map((e) => e.kind)).toEqual(["opened", "cleared"]);
    expect(c.timeline?.[0]?.message).toMatch(BACKFILL_NOTE);
    expect(c.timeline?.[0]?.at).toBe(t0 + 251_000);
    // The freeze frame is the backlog's: the 120 s before the trigger and the 60 s after it.
    await waitFor(async () => (await store.get(c.id, { details: true }))?.freezeFrames?.[0]?.complete === true, 10_000, "the freeze frame");
    const [frame] = (await store.get(c.id, { details: true }))?.freezeFrames ?? [];
    expect(frame?.before.map((s) => s.seq)).toEqual(range(131, 251));
    expect(frame?.after.map((s) => s.seq)).toEqual(range(252, 311));
    expect(events.events.map((e) => e.type)).toEqual(["opened", "cleared"]);

    // The backlog's last samples may still be on their way in: every one of them is back-filled, none skipped.
    await waitFor(async () => (await metricValue(running, "bms_ingestion_rule_samples_backfilled_total")) >= backlog.length, 10_000, "the whole backlog");
    expect(await metricValue(running, "bms_ingestion_rule_samples_backfilled_total")).toBe(backlog.length);
    expect(await metricValue(running, "bms_ingestion_rule_samples_skipped_total")).toBe(0);
    // Caught up at its last sample: the backfill lane's state is gone.
    expect(await stopAndListBackfillLanes()).toEqual([]);
  });

  it("the same fault in both lanes is one case: the backlog's firing is an occurrence on the live lane's case", async () => {
    const { store, events, pub } = await setUp();
    const t0 = baseTs();
    const topic = "bms/b2/p1/telemetry";
    await publish(pub, "bms/b2/p1/meta", META, true);
    // The pack warmed up during the outage (from second 400, above 50 °C from 421), cooled (below
    // 45 °C from 530), and warmed again to 54 °C by second 609; it is still at 54 °C when live
    // samples resume: the live lane holds from second 610 and opens the case at 640.
    for (const i of range(1, LAST_BEFORE)) await publish(pub, topic, at(t0, i));
    for (const i of range(FIRST_LIVE, FIRST_LIVE + 40)) await publish(pub, topic, at(t0, i, { cellTemperatures: temps(54) }));
    await waitFor(async () => (await store.list()).length === 1, 10_000, "the live lane's case");
    expect((await store.list())[0]).toMatchObject({ openedAt: t0 + 640_000, occurrences: 1 });

    const temp = (i: number) => (i < 560 ? warm(i, 400, 520, 54) : warm(i, 585, 10_000, 54));
    const backlog = range(LAST_BEFORE + 1, FIRST_LIVE - 1).map((i) => at(t0, i, { cellTemperatures: temps(temp(i)) }));
    const live = range(FIRST_LIVE + 41, FIRST_LIVE + 60).map((i) => at(t0, i, { cellTemperatures: temps(54) }));
    await sendAfterOutage(pub, topic, live, backlog, 0);
    await waitFor(async () => (await store.list())[0]?.occurrences === 2, 10_000, "the backlog's occurrence");
    await t.ingestion?.close();
    t.ingestion = undefined;

    const all = await store.list();
    expect(all).toHaveLength(1);
    const c = (await store.get(all[0]?.id ?? "", { details: true })) as SupportCase;
    // Opened live (not flagged), the backlog's firing (second 451) added to it. The backlog's episode
    // ended (second 530), but the live lane still holds: the case is not marked cleared.
    expect(c).toMatchObject({ ruleId: "over-temperature", severity: "major", occurrences: 2, openedAt: t0 + 640_000, clearedAt: null });
    expect(c.evidence.backfilled).toBeUndefined();
    expect(c.evidence.rulesFired.map((f) => [f.at - t0, f.role, f.backfilled ?? false])).toEqual([
      [640_000, "case", false],
      [451_000, "case", true],
    ]);
    expect(c.timeline?.map((e) => e.kind)).toEqual(["opened", "occurrence"]);
    expect(c.timeline?.[1]?.message).toMatch(BACKFILL_NOTE);
    expect(events.events.map((e) => e.type)).toEqual(["opened", "updated"]);
  });

  it("a pack silent during the outage opens no no-data, and the usage history counts every sample once", async () => {
    const { store, pub, running } = await setUp();
    const t0 = baseTs();
    for (const p of ["p1", "p2"]) await publish(pub, `bms/b3/${p}/meta`, META, true);
    // p1: silent from second 100 to 219 of the outage (2 min, no-data's limit is 60 s) while p2
    // went on; above 55 °C (the warranty's maximum) twice: in the backlog (from second 300), and
    // from second 560 until after live samples resume (cooling from second 650).
    const temp = (i: number) => (i < 450 ? warm(i, 300, 340, 58) : warm(i, 560, 650, 58));
    const p1 = (i: number, over: Partial<PackSample> = {}) => at(t0, i, { cellTemperatures: temps(temp(i)), ...over }, 2 * i);
    const p2 = (i: number) => at(t0, i, {}, 2 * i + 1);
    const silent = (i: number) => i >= 100 && i <= 219;
    for (const i of range(1, LAST_BEFORE)) {
      await publish(pub, "bms/b3/p1/telemetry", p1(i));
      await publish(pub, "bms/b3/p2/telemetry", p2(i));
    }
    // The agent's backlog interleaves the packs (one outbox, oldest first); live samples go out
    // first, then one between each window of the backlog.
    const liveRange = range(FIRST_LIVE, FIRST_LIVE + 90);
    const liveRest = [...liveRange];
    const sendLive = async (n: number) => {
      for (const i of liveRest.splice(0, n)) {
        await publish(pub, "bms/b3/p1/telemetry", p1(i));
        await publish(pub, "bms/b3/p2/telemetry", p2(i));
      }
    };
    await sendLive(3);
    for (const i of range(LAST_BEFORE + 1, FIRST_LIVE - 1)) {
      if (!silent(i)) await publish(pub, "bms/b3/p1/telemetry", p1(i));
      await publish(pub, "bms/b3/p2/telemetry", p2(i));
      if (i % 50 === 0) await sendLive(1);
    }
    await sendLive(liveRest.length);
    // Then a live cell over-voltage (confirmed by the BMS: it fires at once) opens a case: its
    // warranty assessment shows the pack's usage history as the ingestion saw it.
    const last = liveRange[liveRange.length - 1] as number;
    for (const i of range(last + 1, last + 3)) {
      await publish(pub, "bms/b3/p1/telemetry", p1(i, { cellVoltages: [3.3, 3.3, 3.3, 3.7], bmsAlarms: ["OVER_VOLT_ALARM"] }));
    }
    await waitFor(async () => (await store.list({ ruleId: "cell-over-voltage" })).length === 1, 10_000, "the cell over-voltage case");

    expect(await store.list({ ruleId: "no-data" })).toEqual([]);
    const [overVoltage] = await store.list({ ruleId: "cell-over-voltage" });
    const sent = [...range(1, FIRST_LIVE - 1).filter((i) => !silent(i)), ...liveRange, ...range(last + 1, last + 3)];
    const hot = sent.filter((i) => temp(i) > 55);
    // One second per hot sample (1 Hz), each counted once: the first live sample after the gap
    // counts the second since the backlog's last, not the whole gap.
    expect(overVoltage?.warranty?.exclusions.find((e) => e.condition === "over-temperature")).toMatchObject({
      seconds: hot.length,
      events: 2,
      worst: 58,
      firstAt: t0 + (hot[0] as number) * 1000,
      lastAt: t0 + (hot[hot.length - 1] as number) * 1000,
      exceedsTolerance: true,
    });
    expect(overVoltage?.warranty?.historySince).toBe(t0 + 1000);
    // Both lanes saw the over-temperature: one case for it.
    expect(await store.list({ ruleId: "over-temperature", packId: "p1" })).toHaveLength(1);
    expect(await metricValue(running, "bms_ingestion_rule_samples_backfilled_total")).toBe(2 * (FIRST_LIVE - 1 - LAST_BEFORE) - 120);
  });

  it("a duplicate delivery and a replay of the backlog are skipped, not counted again", async () => {
    const { store, pub, running } = await setUp();
    const t0 = baseTs();
    const topic = "bms/b4/p1/telemetry";
    await publish(pub, "bms/b4/p1/meta", META, true);
    const temp = (i: number) => warm(i, 200, 400, 54);
    for (const i of range(1, LAST_BEFORE)) await publish(pub, topic, at(t0, i));
    for (const i of range(FIRST_LIVE, FIRST_LIVE + 2)) await publish(pub, topic, at(t0, i));
    const sample = (i: number, seq = i) => at(t0, i, { cellTemperatures: temps(temp(i)) }, seq);
    for (const i of range(LAST_BEFORE + 1, 300)) await publish(pub, topic, sample(i));
    // QoS 1 redelivery: the same samples again (same seq and ts).
    for (const i of range(240, 259)) await publish(pub, topic, sample(i));
    // A replay (same ts, another seq: an outbox sent again from an older copy) of the backlog, and of live samples.
    for (const i of range(245, 254)) await publish(pub, topic, sample(i, 100_000 + i));
    for (const i of [5, FIRST_LIVE, FIRST_LIVE + 1]) await publish(pub, topic, at(t0, i, {}, 200_000 + i));
    for (const i of range(301, FIRST_LIVE - 1)) await publish(pub, topic, sample(i));
    await waitFor(async () => (await store.list())[0]?.clearedAt != null, 10_000, "the case, cleared");
    await waitFor(
      async () => (await metricValue(running, "bms_ingestion_messages_received_total", { kind: "telemetry" })) === LAST_BEFORE + 3 + 599 + 20 + 13,
      10_000,
      "every sample",
    );
    await t.ingestion?.close();

    expect(await metricValue(running, "bms_ingestion_duplicates_total")).toBe(20);
    expect(await metricValue(running, "bms_ingestion_rule_samples_skipped_total")).toBe(13);
    expect(await metricValue(running, "bms_ingestion_rule_samples_backfilled_total")).toBe(599);
    t.ingestion = undefined;
    const all = await store.list();
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ ruleId: "over-temperature", occurrences: 1, openedAt: t0 + 251_000, clearedAt: t0 + 410_000 });
  });
});

/** The backfill lane on the engine directly (no MQTT), in simulated time. */
describe("the backfill lane", () => {
  let dir: TempDir | undefined;
  let fast: FastEngine | undefined;
  afterEach(async () => {
    await fast?.close();
    fast = undefined;
    dir?.remove();
  });

  async function start(t0: number): Promise<FastEngine> {
    dir = makeTempDir("bms-backfill-");
    fast = await startFastEngine(dir.path, { now: t0 + 3_600_000 });
    fast.engine.onMeta("f", "p1", META);
    return fast;
  }

  it("hands over at catch-up: a backlog that ends in a fault the live lane does not see is cleared where the live lane took over", async () => {
    const t0 = baseTs();
    const { engine, store } = await start(t0);
    const feed = (i: number, t = 30) => engine.onSample("f", "p1", at(t0, i, { cellTemperatures: temps(t) }), t0 + i * 1000);
    for (const i of range(1, LAST_BEFORE)) await feed(i);
    for (const i of range(FIRST_LIVE, FIRST_LIVE + 30)) await feed(i);
    // Hot from second 500 to the end of the backlog (above 50 °C from 521: fires at 551).
    for (const i of range(LAST_BEFORE + 1, FIRST_LIVE - 1)) await feed(i, warm(i, 500, 10_000, 54));
    await engine.idle();
    const all = await store.list();
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ ruleId: "over-temperature", openedAt: t0 + 551_000, clearedAt: t0 + FIRST_LIVE * 1000 });
    expect(all[0]?.evidence.backfilled).toBe(true);
    await engine.stop();
    expect(backfillLanes(await store.loadStates())).toEqual([]);
  });

  it("two outages in a row while a backlog drains: each gap is back-filled once, in its place", async () => {
    const t0 = baseTs();
    const { engine, store, metrics } = await start(t0);
    // A fault in each outage: above 50 °C from 221 (fires 251), below 45 °C at 310; again from 721 (751), 810.
    const temp = (i: number) => (i < 500 ? warm(i, 200, 300, 54) : warm(i, 700, 800, 54));
    const feed = (i: number, seq = i) => engine.onSample("f", "p1", at(t0, i, { cellTemperatures: temps(temp(i)) }, seq), t0 + i * 1000);
    for (const i of range(1, LAST_BEFORE)) await feed(i);
    // Back at 610: live 610-620, and the first part of the backlog; then the uplink drops again
    // (621-899 queued) and comes back at 900.
    for (const i of range(FIRST_LIVE, 620)) await feed(i);
    for (const i of range(LAST_BEFORE + 1, 300)) await feed(i);
    for (const i of range(900, 910)) await feed(i);
    // The second backlog: the rest of the first, the live samples not acknowledged (seen already), the second outage.
    for (const i of range(301, FIRST_LIVE - 1)) await feed(i);
    for (const i of range(618, 620)) await feed(i, 10_000 + i);
    for (const i of range(621, 899)) await feed(i);
    await engine.idle();

    const all = await store.list();
    expect(all).toHaveLength(1);
    const c = (await store.get(all[0]?.id ?? "", { details: true })) as SupportCase;
    expect(c).toMatchObject({ ruleId: "over-temperature", openedAt: t0 + 251_000, occurrences: 2, clearedAt: t0 + 810_000 });
    expect(c.timeline?.map((e) => [e.kind, e.at - t0])).toEqual([
      ["opened", 251_000],
      ["cleared", 310_000],
      ["occurrence", 751_000],
      ["cleared", 810_000],
    ]);
    expect(c.evidence.rulesFired.map((f) => [f.at - t0, f.backfilled])).toEqual([
      [251_000, true],
      [751_000, true],
    ]);
    expect((await metrics.ruleSamplesBackfilled.get()).values[0]?.value).toBe(FIRST_LIVE - 1 - LAST_BEFORE + (899 - 621 + 1));
    expect((await metrics.ruleSamplesSkipped.get()).values[0]?.value).toBe(3);
  });
});

/**
 * The ingestion killed (SIGKILL: nothing flushed) in the middle of a backlog, while the backlog's
 * over-temperature is pending, and again right after its case opened: the backfill lane's state
 * survives, the hold goes on from before the crash, and there is one case.
 */
describe("an ingestion killed mid-backlog", () => {
  const setUp = useIngestionProcess("backfill-kill-ingestion");

  it("goes on with the backfill lane's hold and makes no second case", { timeout: 120_000 }, async () => {
    const { dir, publisher, start, kill } = await setUp();
    const cases = openSqliteCaseStore(join(dir.path, "cases.db"));
    const backfillState = async (ruleId: string) => backfillSlot(await cases.loadStates(), "p1", ruleId);
    try {
      let proc = await start();
      const t0 = baseTs();
      const topic = "bms/k5/p1/telemetry";
      const sample = (i: number) => at(t0, i, { cellTemperatures: temps(warm(i, 200, 400, 54)) });
      await publish(publisher, "bms/k5/p1/meta", META, true);
      for (const i of range(1, LAST_BEFORE)) await publish(publisher, topic, sample(i));
      for (const i of range(FIRST_LIVE, FIRST_LIVE + 2)) await publish(publisher, topic, sample(i));
      // The backlog up to second 240: above 50 °C since second 221, pending (and saved so).
      for (const i of range(LAST_BEFORE + 1, 240)) await publish(publisher, topic, sample(i));
      await waitFor(
        async () => JSON.stringify((await backfillState("over-temperature")) ?? "").includes('"p":'),
        20_000,
        "the pending backfill hold to be saved",
      );
      expect(await cases.list()).toEqual([]);
      await kill(proc);

      // While it is down the agent goes on sending (the broker keeps it for the ingestion's session).
      for (const i of range(241, 270)) await publish(publisher, topic, sample(i));
      await publish(publisher, topic, sample(FIRST_LIVE + 3));
      proc = await start();
      await waitFor(async () => (await cases.list()).length > 0, 30_000, "the case after the restart");
      // Killed again the moment the case exists: the firing may or may not be acknowledged yet.
      await kill(proc);
      for (const i of range(271, 350)) await publish(publisher, topic, sample(i));
      proc = await start();
      for (const i of range(351, FIRST_LIVE - 1)) await publish(publisher, topic, sample(i));
      for (const i of range(FIRST_LIVE + 4, FIRST_LIVE + 10)) await publish(publisher, topic, sample(i));
      await waitFor(async () => (await cases.list())[0]?.clearedAt != null, 30_000, "the case to clear");
      // The backlog caught up: its lane's state is deleted.
      await waitFor(async () => backfillLanes(await cases.loadStates()).length === 0, 20_000, "the backfill state to be dropped");

      const all = await cases.list();
      expect(all).toHaveLength(1);
      const [only] = all;
      // The hold counted from second 221, before the first crash: the trigger is second 251.
      expect(only).toMatchObject({ ruleId: "over-temperature", severity: "major", occurrences: 1, openedAt: t0 + 251_000, clearedAt: t0 + 410_000 });
      const full = await cases.get(only?.id ?? "", { details: true });
      expect(full?.timeline?.map((e) => e.kind)).toEqual(["opened", "cleared"]);
      expect(full?.evidence).toMatchObject({ backfilled: true });
      expect(full?.evidence.sample?.seq).toBe(251);
      expect(full?.freezeFrames).toHaveLength(1);
      await kill(proc);
    } finally {
      await cases.close();
    }
  });
});
