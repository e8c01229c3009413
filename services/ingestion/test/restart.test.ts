import { join } from "node:path";
import { openSqliteCaseStore } from "@bms/storage";
import { describe, expect, it } from "vitest";
import { waitFor } from "../../../test/support/free-port";
import { baseTs, META, makeSample, publish } from "./ingestion-harness";
import { useIngestionProcess } from "./ingestion-process";

/**
 * The ingestion killed (SIGKILL: no shutdown, nothing flushed) in the middle of a fault, twice:
 * once while the condition is pending, once right after the case opened. The broker keeps what
 * was published meanwhile (persistent session); the restarted ingestion must neither lose the
 * case nor make a second one, nor count an occurrence twice, and the hold started before the crash
 * still counts.
 */
describe("an ingestion killed mid-fault", () => {
  const setUp = useIngestionProcess("kill-test-ingestion");

  it("neither duplicates nor loses the case", { timeout: 120_000 }, async () => {
    const { dir, publisher, start, kill } = await setUp();
    const cases = openSqliteCaseStore(join(dir.path, "cases.db"));
    try {
      let proc = await start();
      const t0 = baseTs();
      const topic = "bms/k1/p1/telemetry";
      // Sensor 1 warms 1 °C/s to 54 °C: above 50 °C (the major level) from second 26; it must hold 30 s.
      const hot = (i: number) =>
        makeSample(i, t0 + i * 1000, { current: -12.5, cellVoltages: [3.3, 3.3, 3.3, 3.3], packVoltage: 13.2, cellTemperatures: [30, Math.min(54, 25 + i)] });
      await publish(publisher, "bms/k1/p1/meta", META, true);
      for (let i = 1; i <= 40; i++) await publish(publisher, topic, hot(i));
      // Pending, and saved as pending.
      await waitFor(
        async () => {
          const pack = (await cases.loadStates()).find((r) => r.packId === "p1")?.state as { live?: Record<string, unknown> } | undefined;
          return JSON.stringify(pack?.live?.["over-temperature"] ?? "").includes('"p":');
        },
        20_000,
        "the pending over-temperature to be saved",
      );
      expect(await cases.list()).toEqual([]);
      await kill(proc);

      // While it is down the fault goes on; the broker keeps the samples for its session.
      for (let i = 41; i <= 70; i++) await publish(publisher, topic, hot(i));
      proc = await start();
      await waitFor(async () => (await cases.list()).length > 0, 30_000, "the case after the first restart");
      // Killed again the moment the case exists: the firing may or may not be acknowledged yet.
      await kill(proc);
      for (let i = 71; i <= 100; i++) await publish(publisher, topic, hot(i));
      proc = await start();
      // Then it cools (1 °C/s) below 45 °C: cleared.
      for (let i = 101; i <= 120; i++) await publish(publisher, topic, { ...hot(i), cellTemperatures: [30, 54 - (i - 100)] });
      await waitFor(async () => (await cases.list())[0]?.clearedAt != null, 30_000, "the case to clear");

      const all = await cases.list();
      expect(all).toHaveLength(1);
      const [only] = all;
      // The hold counted from second 26, before the first crash: the trigger is second 56.
      expect(only).toMatchObject({ ruleId: "over-temperature", severity: "major", occurrences: 1, openedAt: t0 + 56_000, clearedAt: t0 + 110_000 });
      const full = await cases.get(only?.id ?? "", { details: true });
      expect(full?.timeline?.map((e) => e.kind)).toEqual(["opened", "cleared"]);
      expect(full?.evidence.sample?.seq).toBe(56);
      expect(full?.freezeFrames).toHaveLength(1);
      await kill(proc);
    } finally {
      await cases.close();
    }
  });
});
