import { join } from "node:path";
import { type CaseEvent, type PackSample, SITE_PACK_ID, type SiteStatus, type SupportCase } from "@bms/shared";
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

/** A sample of a discharging pack (so the charging-only rules stay quiet) at second `i`, its voltage the sum of its cells. */
function at(t0: number, i: number, over: Partial<PackSample> = {}): PackSample {
  const sample = makeSample(i, t0 + i * 1000, { current: -12.5, ...over });
  return over.packVoltage === undefined ? { ...sample, packVoltage: Math.round(sample.cellVoltages.reduce((a, b) => a + b, 0) * 100) / 100 } : sample;
}

/** `from` to `to` in steps of `step` (inclusive), for realistic ramps (no cell heats 20 °C in a second). */
function ramp(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  const sign = to >= from ? 1 : -1;
  for (let v = from; sign * (to - v) >= -1e-9; v += sign * step) out.push(Math.round(v * 1000) / 1000);
  return out;
}

describe("fault rules through MQTT: cases open once, with their evidence", () => {
  const t = useIngestionTestbed();

  async function setUp(rules: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
    t.broker = await startAedesBroker();
    t.caseStore = openSqliteCaseStore(join(t.dir.path, "cases.db"));
    t.ingestion = await startTestIngestion({ mqttUrl: t.broker.url, dataDir: t.dir.path, rules, extra }, { caseStore: t.caseStore });
    t.watcher = await watchCaseEvents(t.broker.url);
    t.publisher = await connectPublisher(t.broker.url);
    return { store: t.caseStore, events: t.watcher, pub: t.publisher, running: t.ingestion };
  }

  /** The events the rules' firings and clears announce (the evidence follow-ups of a holding condition aside). */
  const types = (events: CaseEvent[]) => events.filter((e) => e.type !== "followed").map((e) => e.type);

  it("over-temperature: a hold, hysteresis and escalation make one case with its freeze frame, identity, warranty and timeline", async () => {
    const { store, events, pub } = await setUp();
    const topic = "bms/s1/p1/telemetry";
    const t0 = baseTs();
    await publish(pub, "bms/s1/p1/meta", META, true);
    await waitFor(async () => (await metricValue(t.ingestion!, "bms_ingestion_messages_received_total", { kind: "meta" })) === 1, 5000, "the meta");
    // Sensor 1: 30 °C, then a realistic rise of 2 °C/s to 54 °C (major above 50 °C, held 30 s).
    const temps = [
      ...Array(10).fill(30),
      ...ramp(32, 54, 2),
      ...Array(38).fill(54),
      ...Array(10).fill(58),
      ...ramp(56, 38, 2),
      ...ramp(40, 58, 2),
      ...Array(60).fill(58),
    ];
    for (const [i, temperature] of temps.entries()) await publish(pub, topic, at(t0, i + 1, { cellTemperatures: [30, temperature] }));
    await waitFor(() => types(events.events).length >= 4, 10_000, "opened, escalated, cleared and updated events");
    // Opened at the major level, escalated to critical, cleared once it cooled below 45 °C, fired again.
    expect(types(events.events)).toEqual(["opened", "escalated", "cleared", "updated"]);
    expect(events.topics[0]).toBe("cases/s1/p1");
    const opened = events.events[0]?.case as SupportCase;
    expect(opened).toMatchObject({ siteId: "s1", packId: "p1", ruleId: "over-temperature", severity: "major", status: "open", occurrences: 1 });
    // Sensor 2 passed 50 °C at second 21 and held it 30 s: the trigger is the sample of second 51.
    expect(opened.openedAt).toBe(t0 + 51_000);
    expect(opened.evidence).toMatchObject({ value: 54, threshold: 50, index: 1 });
    expect(opened.evidence.sample?.seq).toBe(51);
    expect(opened.evidence.detail).toBe("Sensor 2 at 54 °C is above the 50 °C major level for 30 s (31 samples).");
    expect(opened.evidence.meta).toMatchObject({ serial: "SN-0042", bmsFirmware: "1.2.3" });
    expect(opened.evidence.rulesFired).toEqual([expect.objectContaining({ ruleId: "over-temperature", severity: "major", at: t0 + 51_000, role: "case" })]);
    expect(opened.warranty).toMatchObject({ coverage: "in-warranty", suggestion: "free", exclusions: [] });

    const all = await store.list({ ruleId: "over-temperature" });
    expect(all).toHaveLength(1);
    const full = (await store.get(all[0]?.id ?? "", { details: true })) as SupportCase;
    expect(full).toMatchObject({ severity: "critical", occurrences: 2, clearedAt: null, status: "open" });
    expect(full.timeline?.map((e) => e.kind)).toEqual(["opened", "escalated", "cleared", "occurrence"]);
    expect(full.timeline?.every((e) => e.actor === "rules")).toBe(true);
    // The freeze frame: every sample of the 120 s before the trigger and the 60 s after it.
    await waitFor(async () => (await store.get(full.id, { details: true }))?.freezeFrames?.[0]?.complete === true, 10_000, "the freeze frame's after-window");
    const [frame] = (await store.get(full.id, { details: true }))?.freezeFrames ?? [];
    expect(frame?.before.map((s) => s.seq)).toEqual(Array.from({ length: 51 }, (_, i) => i + 1));
    expect(frame?.after.map((s) => s.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 52));
    // The second firing brought the warranty assessment up to date: time above 55 °C is now on record.
    const exclusion = full.warranty?.exclusions.find((e) => e.condition === "over-temperature");
    expect(exclusion?.seconds).toBeGreaterThanOrEqual(10);
    expect(exclusion?.worst).toBe(58);
  });

  it("a single impossible sample opens nothing", async () => {
    const { store, events, pub, running } = await setUp();
    const t0 = baseTs();
    const normal = { cellVoltages: [3.3, 3.31, 3.29, 3.3], cellTemperatures: [25, 26], insulationResistance: 20_000 };
    const impossible: Partial<PackSample>[] = [
      { cellVoltages: [3.3, 0, 3.29, 3.3] }, // an open voltage tap reads 0 V
      { cellVoltages: [3.3, 4.99, 3.29, 3.3] },
      { cellTemperatures: [25, 125] }, // a shorted thermistor, once
      { cellTemperatures: [-40, 26] },
      { current: -9000 }, // a spike no BMS code confirms
      { insulationResistance: 0 },
      { soc: 0 },
      { packVoltage: 0 },
    ];
    let i = 0;
    for (const bad of impossible) {
      for (let k = 0; k < 5; k++) await publish(pub, "bms/s2/p1/telemetry", at(t0, ++i, normal));
      await publish(pub, "bms/s2/p1/telemetry", at(t0, ++i, { ...normal, ...bad }));
    }
    for (let k = 0; k < 30; k++) await publish(pub, "bms/s2/p1/telemetry", at(t0, ++i, normal));
    await waitFor(async () => (await metricValue(running, "bms_ingestion_samples_accepted_total")) === i, 10_000, "every sample");
    await t.ingestion?.close();
    t.ingestion = undefined;
    expect(events.events).toEqual([]);
    expect(await store.list()).toEqual([]);
    // Each rule that looks at samples looked at every one (counted into the metric at each commit).
    for (const rule of ["over-temperature", "cell-imbalance", "thermal-runaway-precursor"])
      expect(await metricValue(running, "bms_ingestion_rule_evaluations_total", { rule })).toBe(i);
  });

  it("a value flapping around a threshold opens one case, not many", async () => {
    const { store, events, pub } = await setUp();
    const t0 = baseTs();
    const cells = (high: number) => ({ cellVoltages: [3.3, 3.3, 3.31, high] });
    let i = 0;
    // Above and just below 3.65 V for two minutes: the hold fires once, the hysteresis (3.5 V) holds it.
    for (let cycle = 0; cycle < 17; cycle++) {
      for (let k = 0; k < 5; k++) await publish(pub, "bms/s3/p1/telemetry", at(t0, ++i, cells(3.7)));
      for (let k = 0; k < 2; k++) await publish(pub, "bms/s3/p1/telemetry", at(t0, ++i, cells(3.62)));
    }
    await waitFor(() => events.events.length >= 1, 10_000, "the case");
    await new Promise((r) => setTimeout(r, 500));
    expect(types(events.events)).toEqual(["opened"]);
    // Then it swings past the clear level five times: occurrences on the same case.
    for (let swing = 0; swing < 5; swing++) {
      for (let k = 0; k < 10; k++) await publish(pub, "bms/s3/p1/telemetry", at(t0, ++i, cells(3.4)));
      for (let k = 0; k < 10; k++) await publish(pub, "bms/s3/p1/telemetry", at(t0, ++i, cells(3.7)));
    }
    await waitFor(async () => (await store.list({ ruleId: "cell-over-voltage" }))[0]?.occurrences === 6, 10_000, "six occurrences");
    const cases = await store.list();
    expect(cases.map((c) => c.ruleId)).toEqual(["cell-over-voltage"]);
    expect(cases[0]).toMatchObject({ occurrences: 6, severity: "major" });
    expect(types(events.events).filter((type) => type === "opened")).toHaveLength(1);
  });

  it("no data: a pack silent while its site reports gets a case on the site's clock; a silent site gets one site case", async () => {
    const { store, events, pub } = await setUp({
      rules: { "no-data": { timeoutS: 10, missedSamples: 1 }, "site-offline": { timeoutS: 3 } },
    });
    const t0 = baseTs();
    for (let i = 1; i <= 5; i++) {
      await publish(pub, "bms/s4/p1/telemetry", at(t0, i));
      await publish(pub, "bms/s4/p2/telemetry", at(t0, i));
    }
    // p2 goes quiet; p1 goes on for 20 s of its own clock (published as fast as MQTT takes it).
    for (let i = 6; i <= 25; i++) await publish(pub, "bms/s4/p1/telemetry", at(t0, i));
    await waitFor(() => events.events.some((e) => e.case.ruleId === "no-data"), 10_000, "the no-data case");
    const noData = events.events.find((e) => e.case.ruleId === "no-data")?.case as SupportCase;
    expect(noData).toMatchObject({ siteId: "s4", packId: "p2", severity: "minor" });
    expect(noData.evidence.detail).toMatch(/^No sample from pack p2 for 1\d s while its site kept reporting/);
    expect(noData.openedAt).toBe(t0 + 16_000);
    await publish(pub, "bms/s4/p2/telemetry", at(t0, 26));
    await waitFor(async () => (await store.get(noData.id))?.clearedAt !== null, 10_000, "no-data cleared");
    expect((await store.list({ ruleId: "no-data" })).map((c) => c.packId)).toEqual(["p2"]);

    // Now the whole site stops: one site case (after 3 s of the ingestion's clock), no pack cases.
    await waitFor(() => events.events.some((e) => e.case.ruleId === "site-offline"), 15_000, "the site-offline case");
    const site = events.events.find((e) => e.case.ruleId === "site-offline")?.case as SupportCase;
    expect(site).toMatchObject({ siteId: "s4", packId: SITE_PACK_ID, severity: "major", warranty: null });
    expect(site.evidence.detail).toMatch(/^Nothing from site s4 \(no sample, no status\) for \d/);
    expect((await store.list({ ruleId: "no-data" })).map((c) => c.occurrences)).toEqual([1]);
    await publish(pub, "bms/s4/status", { state: "online", ts: t0 + 30_000 } satisfies SiteStatus);
    await waitFor(async () => (await store.get(site.id))?.clearedAt !== null, 10_000, "site-offline cleared");
  });

  it("link errors: the agent's poll counters in the site status open one warning case; a dead link does not", async () => {
    const { store, pub } = await setUp();
    const t0 = baseTs();
    // p1's link turns flaky at 60 s (it still answers some polls); p2 stops answering at 60 s
    // (every poll fails, lastOkTs stands still): communication loss, no-data's case, not this one's.
    const status = (s: number, polls: number, errors: number): SiteStatus => ({
      state: "online",
      ts: t0 + s * 1000,
      agent: {
        queueDepth: 0,
        published: polls,
        dropped: 0,
        devices: [
          { packId: "p1", state: "ok", polls, errors, implausible: 0, lastError: "bad CRC", lastOkTs: t0 + (s - 1) * 1000 },
          { packId: "p2", state: s > 60 ? "failing" : "ok", polls: s, errors: Math.max(0, s - 60), implausible: 0, lastOkTs: t0 + Math.min(s, 60) * 1000 },
        ],
      },
    });
    // A clean minute, then a third of the polls fail.
    for (let s = 0; s <= 60; s += 5) await publish(pub, "bms/s5/status", status(s, s, 0));
    expect(await store.list()).toEqual([]);
    for (let s = 65; s <= 120; s += 5) await publish(pub, "bms/s5/status", status(s, s, Math.round((s - 60) / 3)));
    await waitFor(async () => (await store.list({ ruleId: "link-errors" })).length === 1, 10_000, "the link-errors case");
    const [c, ...others] = await store.list({ ruleId: "link-errors" });
    expect(others).toEqual([]);
    expect(c).toMatchObject({ siteId: "s5", packId: "p1", severity: "warning" });
    expect(c?.evidence.detail).toMatch(/^\d+ of \d+ polls failed in 60 s \(\d+(\.\d)? %, limit 10 %\); the last error: bad CRC\.$/);
    // The agent restarts (counters back to 0): no new case.
    for (let s = 125; s <= 200; s += 5) await publish(pub, "bms/s5/status", status(s, s - 125, 0));
    await waitFor(async () => (await store.list({ ruleId: "link-errors" }))[0]?.clearedAt !== null, 10_000, "link-errors cleared");
    expect(await store.list()).toHaveLength(1);
  });

  it("BMS alarms: one no measurement explains opens its own case; an explained one is evidence on the explaining case", async () => {
    const { store, pub } = await setUp();
    const t0 = baseTs();
    // p1: the BMS trips on over-voltage while every cell reads 3.3 V.
    for (let i = 1; i <= 40; i++) await publish(pub, "bms/s6/p1/telemetry", at(t0, i, { bmsAlarms: i > 5 ? ["OVER_VOLT_ALARM"] : [] }));
    // p2: a cell really is over-voltage, and the BMS says so too.
    for (let i = 1; i <= 40; i++) {
      await publish(pub, "bms/s6/p2/telemetry", at(t0, i, { cellVoltages: [3.3, 3.3, 3.3, i > 5 ? 3.7 : 3.4], bmsAlarms: i > 5 ? ["OVER_VOLT_ALARM"] : [] }));
    }
    await waitFor(
      async () => (await store.list()).length === 2 && (await store.list({ packId: "p2" }))[0]?.evidence.rulesFired.length === 2,
      10_000,
      "two cases",
    );
    const [p1] = await store.list({ packId: "p1" });
    expect(p1).toMatchObject({ ruleId: "bms-alarm", severity: "major", openedAt: t0 + 36_000 });
    expect(p1?.evidence.detail).toBe("The BMS has reported OVER_VOLT_ALARM for 30 s, and no measured condition explains it.");
    expect(p1?.evidence.bmsAlarms).toEqual(["OVER_VOLT_ALARM"]);
    const [p2] = await store.list({ packId: "p2" });
    // Confirmed by the BMS code, the over-voltage fires at once; the code is added to its case.
    expect(p2).toMatchObject({ ruleId: "cell-over-voltage", severity: "major", openedAt: t0 + 6000 });
    expect(p2?.evidence.rulesFired.map((f) => [f.ruleId, f.role])).toEqual([
      ["cell-over-voltage", "case"],
      ["bms-alarm", "related"],
    ]);
  });
});
