import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import type { DurableQueue } from "../src/durable-queue";
import { HOSTILE_STRINGS, ONE_MB } from "./hostile-strings";

export type OpenDurableQueue = (file: string, options?: { maxMessages?: number; maxBytes?: number }) => DurableQueue;

/** The behaviour every DurableQueue implementation must have; call it from the implementation's test file. */
export function describeDurableQueue(name: string, open: OpenDurableQueue): void {
  describe(`DurableQueue conformance: ${name}`, () => {
    let dir: TempDir;
    let file: string;
    const opened: DurableQueue[] = [];
    const openQueue = (options?: { maxMessages?: number; maxBytes?: number }) => {
      const q = open(file, options);
      opened.push(q);
      return q;
    };

    beforeEach(() => {
      dir = makeTempDir("bms-queue-");
      file = join(dir.path, "nested", "dir", "queue.db");
    });
    afterEach(() => {
      for (const q of opened.splice(0)) q.close();
      dir.remove();
    });

    it("starts empty, in a directory it creates", () => {
      const q = openQueue();
      expect(q.size()).toBe(0);
      expect(q.peek(10)).toEqual([]);
    });

    it("peeks oldest first without removing, and removes by id", () => {
      const q = openQueue();
      q.push([
        { topic: "t/1", payload: "a", enqueuedAt: 1 },
        { topic: "t/2", payload: "b", enqueuedAt: 2 },
      ]);
      q.push([{ topic: "t/3", payload: "c" }]);
      const first = q.peek(2);
      expect(first.map((m) => m.payload)).toEqual(["a", "b"]);
      expect(first[0]?.enqueuedAt).toBe(1);
      expect(q.size()).toBe(3);
      expect(q.peek(10)).toHaveLength(3);
      q.remove(first.map((m) => m.id));
      expect(q.size()).toBe(1);
      const rest = q.peek(10);
      expect(rest.map((m) => [m.topic, m.payload])).toEqual([["t/3", "c"]]);
      expect(rest[0]?.enqueuedAt).toBeGreaterThan(1_000_000_000_000);
    });

    it("removes out of order, ignores unknown and repeated ids", () => {
      const q = openQueue();
      q.push(["a", "b", "c", "d"].map((payload) => ({ topic: "t", payload })));
      const [a, b, c, d] = q.peek(4);
      q.remove([c?.id ?? -1, c?.id ?? -1, 999_999, -5]);
      expect(q.size()).toBe(3);
      expect(q.peek(10).map((m) => m.id)).toEqual([a?.id, b?.id, d?.id]);
      q.remove([]);
      expect(q.size()).toBe(3);
    });

    it("never reuses an id, so a late remove cannot delete a newer message", () => {
      const q = openQueue();
      q.push([{ topic: "t", payload: "old" }]);
      const old = q.peek(1)[0];
      q.remove([old?.id ?? -1]);
      q.push([{ topic: "t", payload: "new" }]);
      q.remove([old?.id ?? -1]);
      expect(q.peek(1).map((m) => m.payload)).toEqual(["new"]);
    });

    it("removes many ids at once", () => {
      const q = openQueue();
      q.push(Array.from({ length: 2500 }, (_, i) => ({ topic: "t", payload: String(i) })));
      q.remove(q.peek(2400).map((m) => m.id));
      expect(q.size()).toBe(100);
      expect(q.peek(1)[0]?.payload).toBe("2400");
    });

    it("is bounded: drops the oldest and says how many", () => {
      const q = openQueue({ maxMessages: 5 });
      expect(q.push(["1", "2", "3"].map((payload) => ({ topic: "t", payload })))).toEqual({ dropped: 0 });
      expect(q.push(["4", "5", "6", "7"].map((payload) => ({ topic: "t", payload })))).toEqual({ dropped: 2 });
      expect(q.size()).toBe(5);
      expect(q.peek(10).map((m) => m.payload)).toEqual(["3", "4", "5", "6", "7"]);
      // a batch bigger than the bound keeps its newest
      expect(q.push(Array.from({ length: 8 }, (_, i) => ({ topic: "t", payload: `b${i}` })))).toEqual({ dropped: 8 });
      expect(q.peek(10).map((m) => m.payload)).toEqual(["b3", "b4", "b5", "b6", "b7"]);
    });

    it("is bounded in bytes too: drops the oldest until the rest fits, and says how many", () => {
      // topic "t" + 9-byte payload = 10 bytes a message
      const q = openQueue({ maxBytes: 35 });
      expect(q.push(["m-0000001", "m-0000002", "m-0000003"].map((payload) => ({ topic: "t", payload })))).toEqual({ dropped: 0 });
      expect(q.bytes()).toBe(30);
      expect(q.push([{ topic: "t", payload: "m-0000004" }])).toEqual({ dropped: 1 });
      expect(q.bytes()).toBe(30);
      expect(q.peek(10).map((m) => m.payload)).toEqual(["m-0000002", "m-0000003", "m-0000004"]);
      // one big message pushes out several small ones
      expect(q.push([{ topic: "t", payload: "x".repeat(24) }])).toEqual({ dropped: 2 });
      expect(q.peek(10).map((m) => m.payload.length)).toEqual([9, 24]);
      expect(q.size()).toBe(2);
      q.remove(q.peek(1).map((m) => m.id));
      expect(q.bytes()).toBe(25);
    });

    it("counts bytes as UTF-8 and keeps the count across a reopen", () => {
      const q = openQueue();
      q.push([{ topic: "bms/é", payload: "€ 3.3 V" }]);
      expect(q.bytes()).toBe(Buffer.byteLength("bms/é") + Buffer.byteLength("€ 3.3 V"));
      q.push(HOSTILE_STRINGS.map((s) => ({ topic: s, payload: s })));
      const before = q.bytes();
      q.close();
      expect(openQueue().bytes()).toBe(before);
    });

    it("peeks past an id, oldest first, and knows its newest id", () => {
      const q = openQueue();
      expect(q.newestId()).toBe(0);
      q.push(["a", "b", "c", "d"].map((payload) => ({ topic: "t", payload })));
      const [, b] = q.peek(4);
      expect(q.peek(10, b?.id).map((m) => m.payload)).toEqual(["c", "d"]);
      expect(q.peek(1, b?.id).map((m) => m.payload)).toEqual(["c"]);
      expect(() => q.peek(1, Number.NaN)).toThrow(/afterId/);
      expect(q.newestId()).toBe(q.peek(4)[3]?.id);
      q.remove(q.peek(4).map((m) => m.id));
      expect(q.newestId()).toBe(0);
    });

    it("peeks payloads as their UTF-8 bytes, the same messages as peek", () => {
      const q = openQueue();
      q.push(["a", "ünïcödé ✓ 🔋", "", "line 1\nline 2"].map((payload, i) => ({ topic: `t/${i}`, payload, enqueuedAt: i })));
      const text = q.peek(10);
      const bytes = q.peekBytes(10);
      expect(bytes.map(({ id, topic, enqueuedAt }) => ({ id, topic, enqueuedAt }))).toEqual(
        text.map(({ id, topic, enqueuedAt }) => ({ id, topic, enqueuedAt })),
      );
      expect(bytes.map((m) => Buffer.from(m.payload).toString("utf8"))).toEqual(text.map((m) => m.payload));
      expect(q.peekBytes(2, text[1]?.id).map((m) => m.id)).toEqual([text[2]?.id, text[3]?.id]);
      expect(q.peekBytes(0)).toEqual([]);
      expect(() => q.peekBytes(-1)).toThrow(/limit/);
      expect(() => q.peekBytes(1, 0.5)).toThrow(/afterId/);
    });

    it("rejects a bound or peek limit that makes no sense", () => {
      expect(() => openQueue({ maxMessages: 0 })).toThrow(/maxMessages/);
      expect(() => openQueue({ maxMessages: 1.5 })).toThrow(/maxMessages/);
      expect(() => openQueue({ maxBytes: 0 })).toThrow(/maxBytes/);
      const q = openQueue();
      expect(() => q.peek(-1)).toThrow(/limit/);
      expect(() => q.peek(Number.NaN)).toThrow(/limit/);
      expect(q.peek(0)).toEqual([]);
    });

    it("survives close and reopen: messages, order, ids and state", () => {
      const q = openQueue();
      q.push([
        { topic: "bms/s1/p1/telemetry", payload: "one" },
        { topic: "bms/s1/p1/telemetry", payload: "two" },
      ]);
      q.setState("seq", "41");
      const before = q.peek(10);
      q.close();
      const again = openQueue();
      expect(again.size()).toBe(2);
      expect(again.peek(10)).toEqual(before);
      expect(again.getState("seq")).toBe("41");
      again.push([{ topic: "t", payload: "three" }]);
      const ids = again.peek(10).map((m) => m.id);
      expect(ids[2]).toBeGreaterThan(ids[1] ?? Number.POSITIVE_INFINITY);
    });

    it("keeps a key/value state beside the queue", () => {
      const q = openQueue();
      expect(q.getState("missing")).toBeUndefined();
      q.setState("seq", "1");
      q.setState("seq", "2");
      expect(q.getState("seq")).toBe("2");
      q.setState("", "");
      expect(q.getState("")).toBe("");
    });

    it("answers the same whether a message was just pushed or long queued: reads, removes, sizes", () => {
      // Twelve 1 MB messages: more than the SQLite queue keeps of its newest in memory (4 MiB).
      const q = openQueue();
      const payloads = Array.from({ length: 12 }, (_, i) => `${i}:${ONE_MB}`);
      for (const payload of payloads) q.push([{ topic: "t", payload, enqueuedAt: 5 }]);
      const all = q.peek(100);
      expect(all.map((m) => m.payload)).toEqual(payloads);
      expect(q.peekBytes(3, all[4]?.id).map((m) => Buffer.from(m.payload).toString())).toEqual(payloads.slice(5, 8));
      expect(q.peek(2, all[10]?.id).map((m) => [m.topic, m.payload, m.enqueuedAt])).toEqual([["t", payloads[11], 5]]);
      // Removed together: the oldest, one from the middle and the newest.
      q.remove([all[0]?.id ?? -1, all[6]?.id ?? -1, all[11]?.id ?? -1]);
      expect(q.peek(100).map((m) => m.payload)).toEqual(payloads.filter((_, i) => i !== 0 && i !== 6 && i !== 11));
      // The newest alone, then the oldest alone.
      q.remove([all[10]?.id ?? -1]);
      q.remove([all[1]?.id ?? -1]);
      const left = q.peek(100);
      expect(left.map((m) => m.payload)).toEqual(payloads.filter((_, i) => ![0, 1, 6, 10, 11].includes(i)));
      const sizes = { size: q.size(), bytes: q.bytes() };
      expect(sizes.size).toBe(7);
      q.close();
      const again = openQueue();
      expect({ size: again.size(), bytes: again.bytes() }).toEqual(sizes);
      // What comes after the reopen is read back as pushed, behind what was left.
      again.push([{ topic: "u", payload: "new" }]);
      expect(again.peek(100).map((m) => m.payload)).toEqual([...left.map((m) => m.payload), "new"]);
    });

    it("after a bound dropped messages, reads only what is left", () => {
      const q = openQueue({ maxMessages: 3 });
      q.push(["a", "b"].map((payload) => ({ topic: "t", payload })));
      const [a] = q.peek(1);
      expect(q.push(["c", "d", "e"].map((payload) => ({ topic: "t", payload }))).dropped).toBe(2);
      expect(q.peek(10).map((m) => m.payload)).toEqual(["c", "d", "e"]);
      expect(q.peekBytes(10, a?.id).map((m) => Buffer.from(m.payload).toString())).toEqual(["c", "d", "e"]);
      q.remove([a?.id ?? -1]);
      expect(q.size()).toBe(3);
    });

    it("stores hostile strings and 1 MB payloads intact", () => {
      const q = openQueue();
      q.push(HOSTILE_STRINGS.map((s) => ({ topic: s, payload: s })));
      q.push([{ topic: "big", payload: ONE_MB }]);
      for (const s of HOSTILE_STRINGS) q.setState(s, s);
      q.close();
      const again = openQueue();
      const all = again.peek(100);
      expect(all.map((m) => m.topic)).toEqual([...HOSTILE_STRINGS, "big"]);
      expect(all.map((m) => m.payload)).toEqual([...HOSTILE_STRINGS, ONE_MB]);
      expect(again.peekBytes(100).map((m) => Buffer.from(m.payload).equals(Buffer.from(m.topic === "big" ? ONE_MB : m.topic)))).not.toContain(false);
      for (const s of HOSTILE_STRINGS) expect(again.getState(s)).toBe(s);
    });
  });
}
