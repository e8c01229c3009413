import { join } from "node:path";
import type { SupportCase } from "@bms/shared";
import { openSqliteCaseStore } from "@bms/storage";
import { describe, expect, it } from "vitest";
import { startAedesBroker } from "../../../test/support/aedes-broker";
import { waitFor } from "../../../test/support/free-port";
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

const NO_NO_DATA = { noData: { enabled: false } };

describe("fault rules open, update and clear support cases", () => {
  const t = useIngestionTestbed();

  async function setUp(rules: Record<string, unknown>) {
    t.broker = await startAedesBroker();
    t.caseStore = openSqliteCaseStore(join(t.dir.path, "cases.db"));
    t.ingestion = await startTestIngestion({ mqttUrl: t.broker.url, dataDir: t.dir.path, rules }, { caseStore: t.caseStore });
    t.watcher = await watchCaseEvents(t.broker.url);
    t.publisher = await connectPublisher(t.broker.url);
    return { store: t.caseStore, events: t.watcher, pub: t.publisher, running: t.ingestion };
  }

  it("over-temperature: debounced, one case with the triggering sample as evidence, hysteresis on clear", async () => {
    const { store, events, pub, running } = await setUp(NO_NO_DATA);
    const topic = "bms/s1/p1/telemetry";
    const t0 = baseTs();
    const hot = (seq: number, temperature: number) => makeSample(seq, t0 + seq * 1000, { cellTemperatures: [30, temperature] });
    await publish(pub, "bms/s1/p1/meta", META, true);
    await waitFor(async () => (await metricValue(running, "bms_ingestion_messages_received_total", { kind: "meta" })) === 1, 5000, "the meta");

    // Two hot samples, a normal one, two hot again: never three in a row, so nothing fires.
    for (const [seq, t] of [
      [1, 60],
      [2, 61],
      [3, 40],
      [4, 60],
      [5, 60],
    ] as const) {
      await publish(pub, topic, hot(seq, t));
    }
    // The third in a row fires.
    await publish(pub, topic, hot(6, 62.5));
    await waitFor(() => events.events.length === 1, 5000, "the opened event");
    const [opened] = events.events;
    expect(opened?.type).toBe("opened");
    expect(events.topics[0]).toBe("cases/s1/p1");
    const supportCase = opened?.case as SupportCase;
    expect(supportCase).toMatchObject({
      siteId: "s1",
      packId: "p1",
      ruleId: "over-temperature",
      severity: "critical",
      status: "open",
      occurrences: 1,
      clearedAt: null,
    });
    expect(supportCase.evidence).toMatchObject({ value: 62.5, threshold: 55, index: 1 });
    expect(supportCase.evidence.sample?.seq).toBe(6);
    expect(supportCase.evidence.detail).toMatch(/Sensor 1 .*62\.5 °C.*55 °C/);
    expect(supportCase.evidence.meta?.serial).toBe("SN-0042");
    expect(await store.list({ ruleId: "over-temperature" })).toHaveLength(1);

    // Still hot: the same case, no new events. Between clearBelow and threshold: not cleared.
    for (let seq = 7; seq <= 12; seq++) await publish(pub, topic, hot(seq, 63));
    await publish(pub, topic, hot(13, 52));
    await publish(pub, topic, hot(14, 45));
    await waitFor(() => events.events.length === 2, 5000, "the cleared event");
    expect(events.events.map((e) => e.type)).toEqual(["opened", "cleared"]);
    const cases = await store.list({ ruleId: "over-temperature" });
    expect(cases).toHaveLength(1);
    expect(cases[0]).toMatchObject({ id: supportCase.id, occurrences: 1, status: "open" });
    expect(cases[0]?.clearedAt).toBe(t0 + 14_000);
    expect(await metricValue(running, "bms_ingestion_cases_opened_total", { rule: "over-temperature" })).toBe(1);
    expect(await metricValue(running, "bms_ingestion_rule_evaluations_total", { rule: "over-temperature" })).toBe(14);
  });

  it("cell over-voltage fires for the highest cell and a second burst counts on the same case", async () => {
    const { store, events, pub } = await setUp({
      ...NO_NO_DATA,
      cellOverVoltage: { threshold: 3.65, clearBelow: 3.55, debounceSamples: 2, severity: "major" },
    });
    const topic = "bms/s1/p2/telemetry";
    const t0 = baseTs();
    const cells = (seq: number, high: number) => makeSample(seq, t0 + seq * 1000, { cellVoltages: [3.3, 3.3, high, 3.7] });
    await publish(pub, topic, cells(1, 3.8));
    await publish(pub, topic, cells(2, 3.9));
    await waitFor(() => events.events.length === 1, 5000, "the opened event");
    expect(events.events[0]?.case.evidence).toMatchObject({ value: 3.9, threshold: 3.65, index: 2 });
    expect(events.events[0]?.case.severity).toBe("major");
    await publish(pub, topic, makeSample(3, t0 + 3000));
    await publish(pub, topic, cells(4, 3.8));
    await publish(pub, topic, cells(5, 3.8));
    await waitFor(() => events.events.length === 3, 5000, "cleared and updated events");
    expect(events.events.map((e) => e.type)).toEqual(["opened", "cleared", "updated"]);
    const cases = await store.list({ ruleId: "cell-over-voltage" });
    expect(cases).toHaveLength(1);
    expect(cases[0]?.occurrences).toBe(2);
  });

  it("no data: a pack that goes quiet gets a case after the timeout, cleared when samples return", async () => {
    const { store, events, pub } = await setUp({ noData: { timeoutMs: 300 } });
    const t0 = baseTs();
    await publish(pub, "bms/s3/quiet/telemetry", makeSample(1, t0));
    await waitFor(() => events.events.length === 1, 5000, "the no-data case");
    const opened = events.events[0];
    expect(opened?.type).toBe("opened");
    expect(opened?.case).toMatchObject({ siteId: "s3", packId: "quiet", ruleId: "no-data", severity: "minor" });
    expect(opened?.case.evidence).toMatchObject({ sample: null, threshold: 300 });
    expect(opened?.case.evidence.value).toBeGreaterThanOrEqual(300);
    expect(events.topics[0]).toBe("cases/s3/quiet");

    await publish(pub, "bms/s3/quiet/telemetry", makeSample(2, t0 + 1000));
    await waitFor(() => events.events.length >= 2, 5000, "the cleared event");
    expect(events.events[1]?.type).toBe("cleared");
    expect((await store.list({ ruleId: "no-data" }))[0]?.clearedAt).not.toBeNull();
  });
});
