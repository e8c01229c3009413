import type { CaseEvent, CommandMessage, CommandRecord } from "@bms/shared";
import { createLogger } from "@bms/shared";
import { type CaseStore, type CommandStore, openSqliteCaseStore, openSqliteCommandStore, StoreInputError } from "@bms/storage";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HOSTILE_STRINGS } from "../../../shared/storage/test/hostile-strings";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import { CommandRequestError, CommandService } from "../src/commands/command-service";
import { openCase, sample } from "./live-harness";

let dir: TempDir;
let store: CommandStore;
let caseStore: CaseStore;
let published: { siteId: string; message: CommandMessage }[];
let emitted: CommandRecord[];
let events: CaseEvent[];
let service: CommandService;

beforeEach(() => {
  dir = makeTempDir("bms-command-service-");
  store = openSqliteCommandStore(`${dir.path}/commands.db`);
  caseStore = openSqliteCaseStore(`${dir.path}/cases.db`);
  published = [];
  emitted = [];
  events = [];
  service = new CommandService({
    store,
    caseStore,
    publish: async (siteId, message) => void published.push({ siteId, message }),
    emit: (r) => emitted.push(r),
    announceCaseEvent: (e) => events.push(e),
    log: createLogger("live", "silent"),
  });
});
afterEach(async () => {
  await service.stop();
  await store.close();
  await caseStore.close();
  dir.remove();
});

const outcome = (id: string, over: Record<string, unknown> = {}) => ({
  v: 1,
  type: "outcome",
  id,
  packId: "pack-1",
  ts: Date.now(),
  status: "succeeded",
  result: { before: ["OVER_TEMP_ALARM"], after: [], cleared: ["OVER_TEMP_ALARM"] },
  ...over,
});

describe("the live service's command service", () => {
  it("records, publishes with an expiry, follows accepted → outcome, and a final status never changes", async () => {
    const created = await service.create("site-1", "pack-1", { kind: "reset-alarms", params: {} }, "Erin");
    expect(created).toMatchObject({ status: "pending", attempts: 1, caseId: null, requestedBy: "Erin" });
    expect(published).toEqual([
      { siteId: "site-1", message: expect.objectContaining({ v: 1, id: created.id, kind: "reset-alarms", expiresAt: created.expiresAt }) },
    ]);
    expect(created.expiresAt - created.createdAt).toBe(300_000);
    await service.onResult("site-1", { v: 1, type: "accepted", id: created.id, packId: "pack-1", ts: Date.now() });
    expect((await store.get(created.id))?.status).toBe("sent");
    await service.onResult("site-1", outcome(created.id));
    expect(await store.get(created.id)).toMatchObject({ status: "succeeded", result: { cleared: ["OVER_TEMP_ALARM"] } });
    // A redelivered or late result changes nothing.
    await service.onResult("site-1", outcome(created.id, { status: "failed", result: undefined, error: "late" }));
    await service.onResult("site-1", { v: 1, type: "accepted", id: created.id, packId: "pack-1", ts: Date.now() });
    expect((await store.get(created.id))?.status).toBe("succeeded");
    expect(emitted.map((r) => r.status)).toEqual(["pending", "sent", "succeeded"]);
  });

  it("ignores malformed, hostile and foreign results, and results for unknown commands", async () => {
    const created = await service.create("site-1", "pack-1", { kind: "reset-alarms", params: {} }, "Erin");
    const hostile: unknown[] = [
      null,
      "text",
      [],
      { v: 2, type: "outcome", id: created.id },
      { ...outcome(created.id), status: "succeeded", result: undefined },
      { ...outcome(created.id), status: "failed" }, // a failure needs its error
      { ...outcome(created.id), id: "../../etc/passwd" },
      { ...outcome(created.id), extra: true },
      { v: 1, type: "part", id: created.id, packId: "pack-1", ts: Date.now(), part: -1, samples: [sample()] },
      ...HOSTILE_STRINGS.map((s) => ({ ...outcome(created.id), error: s, status: "failed", result: undefined, packId: s })),
    ];
    for (const value of hostile) await service.onResult("site-1", value);
    // Another site's agent, or another pack, may not answer for this command.
    await service.onResult("site-2", outcome(created.id));
    await service.onResult("site-1", outcome(created.id, { packId: "pack-2" }));
    await service.onResult("site-1", outcome("cmd-unknown-0000"));
    expect((await store.get(created.id))?.status).toBe("pending");
  });

  it("publishes a pending command again until its expiry, then marks it expired on its case", async () => {
    const opened = await openCase(caseStore, "site-1", "pack-1");
    const created = await service.create("site-1", "pack-1", { kind: "read-event-log", params: {}, caseId: opened.id, expiresInSeconds: 5 }, "Erin");
    await service.sweep(Date.now());
    await service.sweep(Date.now());
    expect(published).toHaveLength(3);
    expect((await store.get(created.id))?.attempts).toBe(3);
    await service.sweep(created.expiresAt + 1);
    expect(await store.get(created.id)).toMatchObject({ status: "expired", error: expect.stringMatching(/no agent took it/) });
    expect(published).toHaveLength(3);
    const timeline = (await caseStore.get(opened.id, { details: true }))?.timeline ?? [];
    expect(timeline.filter((e) => e.kind.startsWith("command")).map((e) => e.kind)).toEqual(["command", "command-result"]);
    expect(events.every((e) => e.type === "updated" && e.case.id === opened.id)).toBe(true);
  });

  it("a command the agent took and never finished fails after the run limit, and is not published again", async () => {
    const created = await service.create("site-1", "pack-1", { kind: "capture", params: { hz: 1, seconds: 120 } }, "Erin");
    await service.onResult("site-1", { v: 1, type: "accepted", id: created.id, packId: "pack-1", ts: Date.now() });
    const sent = await store.get(created.id);
    await service.sweep(Date.now());
    expect((await store.get(created.id))?.status).toBe("sent");
    await service.sweep((sent?.sentAt ?? 0) + 15 * 60_000 + 120_000 + 1);
    expect(await store.get(created.id)).toMatchObject({ status: "failed", error: expect.stringMatching(/reported no outcome within 15 min/) });
    expect(published).toHaveLength(1);
  });

  it("a capture's parts become its frame, in part order, each part once", async () => {
    const created = await service.create("site-1", "pack-1", { kind: "capture", params: { hz: 10, seconds: 1 } }, "Erin");
    const part = (n: number, seqs: number[]) => ({
      v: 1,
      type: "part",
      id: created.id,
      packId: "pack-1",
      ts: Date.now(),
      part: n,
      samples: seqs.map((seq) => sample({ seq })),
    });
    await service.onResult("site-1", part(1, [2, 3]));
    await service.onResult("site-1", part(0, [0, 1]));
    await service.onResult("site-1", part(1, [2, 3]));
    const summary = { hz: 10, seconds: 1, startedAt: Date.now() - 1000, endedAt: Date.now(), samples: 4, parts: 2, failedReads: 0 };
    await service.onResult("site-1", outcome(created.id, { result: summary }));
    const done = await store.get(created.id);
    expect((done?.result as { frame: { seq: number }[] } | undefined)?.frame.map((s) => s.seq)).toEqual([0, 1, 2, 3]);
  });

  it("refuses before sending: a case of another pack, a closed case, a setting outside the reported bounds or where writes are off", async () => {
    const other = await openCase(caseStore, "site-1", "pack-2");
    await expect(service.create("site-1", "pack-1", { kind: "read-event-log", params: {}, caseId: other.id }, "Erin")).rejects.toMatchObject({ status: 404 });
    service.onParameters("site-1", "pack-1", {
      v: 1,
      ts: Date.now(),
      writesEnabled: true,
      parameters: [{ name: "balanceStartV", description: null, unit: "V", min: 3.35, max: 3.6, value: 3.4 }],
    });
    await expect(service.create("site-1", "pack-1", { kind: "set-parameter", params: { name: "balanceStartV", value: 3.7 } }, "Ada")).rejects.toThrow(
      /3\.35–3\.6 V/,
    );
    await expect(service.create("site-1", "pack-1", { kind: "set-parameter", params: { name: "nope", value: 1 } }, "Ada")).rejects.toThrow(
      /no writable point nope/,
    );
    service.onParameters("site-1", "pack-1", { v: 1, ts: Date.now(), writesEnabled: false, parameters: [] });
    await expect(service.create("site-1", "pack-1", { kind: "set-parameter", params: { name: "balanceStartV", value: 3.5 } }, "Ada")).rejects.toBeInstanceOf(
      CommandRequestError,
    );
    // Malformed parameters are ignored: the last good report stands.
    service.onParameters("site-1", "pack-1", { v: 1, parameters: "all of them" });
    expect(service.packParameters("site-1", "pack-1")?.writesEnabled).toBe(false);
    expect(published).toEqual([]);
  });

  it("the command store keeps hostile text byte for byte and refuses a taken ID", async () => {
    for (const text of HOSTILE_STRINGS) {
      const created = await service.create("site-1", "pack-1", { kind: "reset-alarms", params: {} }, "Erin");
      await service.onResult("site-1", outcome(created.id, { status: "failed", result: undefined, error: text || "x" }));
      expect((await store.get(created.id))?.error).toBe(text || "x");
    }
    const one = (await store.listForPack("site-1", "pack-1", 1))[0];
    if (!one) throw new Error("no command");
    await expect(store.add(one)).rejects.toBeInstanceOf(StoreInputError);
  });
});
