import { describe, expect, it } from "vitest";
import type { DeadLetterStore } from "../src/dead-letter-store";
import { HOSTILE_STRINGS, ONE_MB } from "./hostile-strings";
import { storeBed } from "./store-bed";

export type OpenDeadLetterStore = (file: string, options?: { maxEntries?: number }) => DeadLetterStore | Promise<DeadLetterStore>;

const T0 = 1_750_000_000_000;

/** The behaviour every DeadLetterStore implementation must have; call it from the implementation's test file. */
export function describeDeadLetterStore(name: string, open: OpenDeadLetterStore): void {
  describe(`DeadLetterStore conformance: ${name}`, () => {
    const openStore = storeBed("bms-dead-", ["a", "dead-letters.db"], open);

    it("adds and lists newest first, with a limit", async () => {
      const s = await openStore();
      expect(await s.count()).toBe(0);
      expect(await s.list()).toEqual([]);
      for (let i = 0; i < 5; i++) await s.add({ receivedAt: T0 + i, topic: `bms/s/p${i}/telemetry`, payload: `{"n":${i}}`, reason: `reason ${i}` });
      expect(await s.count()).toBe(5);
      const all = await s.list();
      expect(all.map((d) => d.receivedAt)).toEqual([T0 + 4, T0 + 3, T0 + 2, T0 + 1, T0]);
      expect(all[0]).toMatchObject({ topic: "bms/s/p4/telemetry", payload: '{"n":4}', reason: "reason 4" });
      expect(new Set(all.map((d) => d.id)).size).toBe(5);
      expect((await s.list(2)).map((d) => d.receivedAt)).toEqual([T0 + 4, T0 + 3]);
    });

    it("lists at most 100 by default and rejects a nonsense limit", async () => {
      const s = await openStore();
      for (let i = 0; i < 120; i++) await s.add({ receivedAt: T0 + i, topic: "t", payload: "", reason: "r" });
      expect(await s.list()).toHaveLength(100);
      for (const limit of [0, -3, 2.5, Number.NaN]) await expect(s.list(limit)).rejects.toThrow(/limit/);
    });

    it("is bounded: keeps only the newest entries", async () => {
      const s = await openStore({ maxEntries: 10 });
      for (let i = 0; i < 25; i++) await s.add({ receivedAt: T0 + i, topic: "t", payload: String(i), reason: "flood" });
      expect(await s.count()).toBe(10);
      expect((await s.list(50)).map((d) => d.payload)).toEqual(["24", "23", "22", "21", "20", "19", "18", "17", "16", "15"]);
    });

    it("survives close and reopen", async () => {
      const s = await openStore();
      await s.add({ receivedAt: T0, topic: "bms/x", payload: "not json", reason: "payload is not JSON" });
      const before = await s.list();
      await s.close();
      const again = await openStore();
      expect(await again.list()).toEqual(before);
      await again.add({ receivedAt: T0 + 1, topic: "bms/y", payload: "", reason: "empty" });
      const ids = (await again.list()).map((d) => d.id);
      expect(ids[0]).toBeGreaterThan(ids[1] ?? Number.POSITIVE_INFINITY);
    });

    it("stores hostile strings and a 1 MB payload intact", async () => {
      const s = await openStore();
      for (const h of HOSTILE_STRINGS) await s.add({ receivedAt: T0, topic: h, payload: h, reason: h });
      await s.add({ receivedAt: T0, topic: "big", payload: ONE_MB, reason: "too big" });
      const all = (await s.list()).reverse();
      expect(all.map((d) => d.topic)).toEqual([...HOSTILE_STRINGS, "big"]);
      expect(all.map((d) => d.payload)).toEqual([...HOSTILE_STRINGS, ONE_MB]);
      expect(all.map((d) => d.reason)).toEqual([...HOSTILE_STRINGS, "too big"]);
    });
  });
}
