import type { CommandRecord, PackSample } from "@bms/shared";
import { beforeEach, describe, expect, it } from "vitest";
import type { CommandStore } from "../src/command-store";
import { StoreInputError } from "../src/storage-errors";
import { sample, T0 } from "./case-fixtures";
import { HOSTILE_STRINGS } from "./hostile-strings";
import { storeBed } from "./store-bed";

export function aCommand(over: Partial<CommandRecord> = {}): CommandRecord {
  return {
    id: "cmd-0123456789abcdef",
    kind: "read-event-log",
    siteId: "site-1",
    packId: "pack-1",
    params: {},
    status: "pending",
    caseId: null,
    requestedBy: "Erin",
    createdAt: T0,
    expiresAt: T0 + 300_000,
    sentAt: null,
    finishedAt: null,
    attempts: 0,
    ...over,
  };
}

const part = (from: number, n: number): PackSample[] => Array.from({ length: n }, (_, i) => ({ ...sample(T0 + (from + i) * 100), seq: from + i }));

/** The behaviour every CommandStore implementation must have; call it from the implementation's test file. */
export function describeCommandStore(name: string, open: (file: string) => CommandStore | Promise<CommandStore>): void {
  describe(`CommandStore conformance: ${name}`, () => {
    const openStore = storeBed("bms-commands-", ["commands.db"], open);
    let store: CommandStore;

    beforeEach(async () => {
      store = await openStore();
    });

    it("keeps a command as it was given, across a reopen; an unknown ID is null", async () => {
      const record = aCommand({ kind: "capture", params: { hz: 5, seconds: 2 }, caseId: "case-1" });
      await store.add(record);
      expect(await store.get(record.id)).toEqual(record);
      expect(await (await openStore()).get(record.id)).toEqual(record);
      expect(await store.get("cmd-unknown")).toBeNull();
    });

    it("refuses a taken ID and a record that does not validate, and keeps the first", async () => {
      const record = aCommand();
      await store.add(record);
      await expect(store.add({ ...record, kind: "reset-alarms" })).rejects.toBeInstanceOf(StoreInputError);
      await expect(store.add(aCommand({ id: "cmd-other-0000000", siteId: "bad site/../" }))).rejects.toThrow(/siteId/);
      expect(await store.get(record.id)).toEqual(record);
      expect(await store.get("cmd-other-0000000")).toBeNull();
    });

    it("update: plans from the record as stored and writes it; a null plan or an unknown ID changes nothing", async () => {
      await store.add(aCommand());
      const sent = await store.update("cmd-0123456789abcdef", (r) => ({ ...r, status: "sent", sentAt: T0 + 5, attempts: r.attempts + 1 }));
      expect(sent).toMatchObject({ status: "sent", sentAt: T0 + 5, attempts: 1 });
      expect(await store.update("cmd-0123456789abcdef", () => null)).toBeNull();
      expect(await store.update("cmd-unknown", (r) => r)).toBeNull();
      expect(await store.get("cmd-0123456789abcdef")).toEqual(sent);
      await expect(store.update("cmd-0123456789abcdef", (r) => ({ ...r, attempts: -1 }))).rejects.toBeInstanceOf(StoreInputError);
      expect(await store.get("cmd-0123456789abcdef")).toEqual(sent);
    });

    it("two connections applying the same outcome at once: one applies it, the other plans from it and changes nothing", async () => {
      await store.add(aCommand({ status: "sent", sentAt: T0 }));
      const other = await openStore();
      const finish = (s: CommandStore, by: string) =>
        s.update("cmd-0123456789abcdef", (r) => (r.status === "sent" ? { ...r, status: "succeeded", finishedAt: T0 + 10, result: { by } } : null));
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => finish(i % 2 === 0 ? store : other, `node-${i}`)));
      const applied = results.filter((r) => r !== null);
      expect(applied).toHaveLength(1);
      expect(await store.get("cmd-0123456789abcdef")).toEqual(applied[0]);
    });

    it("a capture's parts: in part order whatever order they came in, the same part once", async () => {
      await store.add(aCommand({ kind: "capture", params: { hz: 5, seconds: 2 } }));
      await store.addPart("cmd-0123456789abcdef", 1, part(3, 2));
      await store.addPart("cmd-0123456789abcdef", 0, part(0, 3));
      await store.addPart("cmd-0123456789abcdef", 1, part(90, 2));
      expect((await store.samples("cmd-0123456789abcdef")).map((s) => s.seq)).toEqual([0, 1, 2, 3, 4]);
      expect(await store.samples("cmd-unknown")).toEqual([]);
      await expect(store.addPart("cmd-0123456789abcdef", -1, part(0, 1))).rejects.toBeInstanceOf(StoreInputError);
    });

    it("unfinished: pending and sent only, oldest first, up to the limit", async () => {
      const statuses = ["pending", "succeeded", "sent", "expired", "pending"] as const;
      for (const [i, status] of statuses.entries()) await store.add(aCommand({ id: `cmd-unfinished-00000${i}`, status, createdAt: T0 + (10 - i) }));
      expect((await store.unfinished(10)).map((r) => r.id)).toEqual(["cmd-unfinished-000004", "cmd-unfinished-000002", "cmd-unfinished-000000"]);
      expect(await store.unfinished(1)).toHaveLength(1);
    });

    it("a pack's log: its own commands only, newest first (added order for equal times), up to the limit", async () => {
      await store.add(aCommand({ id: "cmd-log-00000000001", createdAt: T0 }));
      await store.add(aCommand({ id: "cmd-log-00000000002", createdAt: T0 + 1 }));
      await store.add(aCommand({ id: "cmd-log-00000000003", createdAt: T0 + 1 }));
      await store.add(aCommand({ id: "cmd-log-00000000004", createdAt: T0 + 2, packId: "pack-2" }));
      await store.add(aCommand({ id: "cmd-log-00000000005", createdAt: T0 + 3, siteId: "site-2" }));
      expect((await store.listForPack("site-1", "pack-1", 10)).map((r) => r.id)).toEqual(["cmd-log-00000000003", "cmd-log-00000000002", "cmd-log-00000000001"]);
      expect((await store.listForPack("site-1", "pack-1", 1)).map((r) => r.id)).toEqual(["cmd-log-00000000003"]);
      expect(await store.listForPack("site-9", "pack-1", 10)).toEqual([]);
    });

    it("keeps hostile text byte for byte", async () => {
      for (const [i, text] of HOSTILE_STRINGS.entries()) {
        const id = `cmd-hostile-${String(i).padStart(6, "0")}`;
        await store.add(aCommand({ id, params: { note: text } }));
        const failed = await store.update(id, (r) => ({ ...r, status: "failed", finishedAt: T0 + 1, error: text }));
        expect(failed).toMatchObject({ error: text, params: { note: text } });
        expect(await store.get(id)).toEqual(failed);
      }
    });
  });
}
