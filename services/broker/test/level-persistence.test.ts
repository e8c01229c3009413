import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "aedes";
import type { AedesPacket } from "aedes-packet";
import AsyncLevelPersistence from "aedes-persistence-level/asyncPersistence.js";
import { ClassicLevel } from "classic-level";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import { LevelPersistence } from "../src/level-persistence";

/**
 * The broker's `disk` persistence on a real LevelDB database: its queues of QoS 1 copies are kept
 * in memory and written by group commit, so what it answers must match what is on disk.
 * (aedes-persistence's own suite runs against it too: persistence-conformance.test.ts.)
 */
const CLIENT = { id: "bms-ingestion" } as Client;
const BROKER = { id: "broker-1" };

function publish(counter: number): AedesPacket {
  return {
    cmd: "publish",
    topic: "bms/site-1/pack-1/telemetry",
    payload: Buffer.from(JSON.stringify({ seq: counter })),
    qos: 1,
    retain: false,
    dup: false,
    brokerId: BROKER.id,
    brokerCounter: counter,
  } as AedesPacket;
}

const seqOf = (packet: AedesPacket) => (JSON.parse(String((packet as { payload: Buffer }).payload)) as { seq: number }).seq;

async function drain(persistence: LevelPersistence): Promise<AedesPacket[]> {
  const packets: AedesPacket[] = [];
  for await (const packet of persistence.outgoingStream(CLIENT)) packets.push(packet as AedesPacket);
  return packets;
}

describe("the broker's disk persistence (LevelDB, queues by group commit)", () => {
  let dir: TempDir;
  const open: ClassicLevel[] = [];
  const started: LevelPersistence[] = [];
  const openDb = async () => {
    const db = new ClassicLevel(join(dir.path, "broker"));
    await db.open();
    open.push(db);
    return db;
  };
  const start = async () => {
    const db = await openDb();
    const persistence = new LevelPersistence(db, (err) => {
      throw err;
    });
    await persistence.setup(BROKER);
    started.push(persistence);
    return { db, persistence };
  };
  const outgoingKeys = async (db: ClassicLevel) => db.keys({ gte: "outgoing", lt: "outgoinh" }).all();

  beforeEach(() => {
    dir = makeTempDir("bms-level-persistence-");
    mkdirSync(join(dir.path, "broker"));
  });
  afterEach(async () => {
    for (const persistence of started.splice(0)) await persistence.written();
    for (const db of open.splice(0)) await db.close();
    dir.remove();
  });

  it("answers a publish once its copy is on disk, and a restart finds the queue in order with the message IDs given", async () => {
    const { db, persistence } = await start();
    for (let counter = 1; counter <= 50; counter++) await persistence.outgoingEnqueueCombi([{ clientId: CLIENT.id }], publish(counter));
    expect(await outgoingKeys(db)).toHaveLength(50);
    await persistence.outgoingUpdate(CLIENT, { ...publish(1), messageId: 7 } as AedesPacket);
    await persistence.written();
    await db.close();

    const again = await start();
    const packets = await drain(again.persistence);
    expect(packets.map(seqOf)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(packets[0]?.messageId).toBe(7);
    expect((await again.persistence.outgoingClearMessageId(CLIENT, { messageId: 7 } as AedesPacket)).brokerCounter).toBe(1);
  });

  it("writes nothing for a copy sent and acknowledged before its batch went out, and deletes one that was written", async () => {
    const { db, persistence } = await start();
    // Queued, sent and acknowledged in one turn of the event loop: the batch is empty.
    const enqueued = persistence.outgoingEnqueueCombi([{ clientId: CLIENT.id }], publish(1));
    await persistence.outgoingUpdate(CLIENT, { ...publish(1), messageId: 1 } as AedesPacket);
    expect(seqOf(await persistence.outgoingClearMessageId(CLIENT, { messageId: 1 } as AedesPacket))).toBe(1);
    await enqueued;
    expect(await outgoingKeys(db)).toEqual([]);
    // Written first, then acknowledged: deleted by the next batch.
    await persistence.outgoingEnqueueCombi([{ clientId: CLIENT.id }], publish(2));
    expect(await outgoingKeys(db)).toHaveLength(1);
    await persistence.outgoingUpdate(CLIENT, { ...publish(2), messageId: 2 } as AedesPacket);
    await persistence.outgoingClearMessageId(CLIENT, { messageId: 2 } as AedesPacket);
    await persistence.written();
    expect(await outgoingKeys(db)).toEqual([]);
    expect(await drain(persistence)).toEqual([]);
  });

  it("keeps a backlog larger than memory holds on disk and sends it in order, each once", async () => {
    const { persistence } = await start();
    const total = 25_000;
    const subs = [{ clientId: CLIENT.id }];
    const stored: Promise<void>[] = [];
    for (let counter = 1; counter <= total; counter++) stored.push(persistence.outgoingEnqueueCombi(subs, publish(counter)));
    await Promise.all(stored);
    const packets = await drain(persistence);
    expect(packets.map(seqOf)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    // The oldest were let go from memory: acknowledging one reads it back from disk.
    await persistence.outgoingUpdate(CLIENT, { ...publish(1), messageId: 1 } as AedesPacket);
    expect(seqOf(await persistence.outgoingClearMessageId(CLIENT, { messageId: 1 } as AedesPacket))).toBe(1);
    expect(await drain(persistence)).toHaveLength(total - 1);
  });

  it("reads a queue aedes-persistence-level wrote, and drops its index by message ID", async () => {
    const db = await openDb();
    const legacy = new AsyncLevelPersistence(db);
    await legacy.setup(BROKER);
    for (let counter = 1; counter <= 3; counter++) await legacy.outgoingEnqueue({ clientId: CLIENT.id }, publish(counter));
    await legacy.outgoingUpdate(CLIENT, { ...publish(2), messageId: 9 } as AedesPacket);
    expect(await db.keys({ gte: "outgoing-id:", lt: "outgoing-id;" }).all()).toHaveLength(1);
    await db.close();

    const { db: reopened, persistence } = await start();
    expect(await reopened.keys({ gte: "outgoing-id:", lt: "outgoing-id;" }).all()).toEqual([]);
    const packets = await drain(persistence);
    expect(packets.map(seqOf)).toEqual([1, 2, 3]);
    expect(packets.map((p) => p.messageId)).toEqual([undefined, 9, undefined]);
  });

  it("keeps retained messages through its batches: a reader right after a store sees it", async () => {
    const { db, persistence } = await start();
    const retained = { ...publish(1), retain: true, topic: "bms/site-1/pack-1/meta" } as AedesPacket;
    await persistence.storeRetained(retained);
    const read: AedesPacket[] = [];
    for await (const packet of persistence.createRetainedStream("bms/+/+/meta")) read.push(packet as AedesPacket);
    expect(read.map(seqOf)).toEqual([1]);
    await persistence.storeRetained({ ...retained, payload: Buffer.alloc(0) } as AedesPacket);
    await persistence.written();
    expect(await db.keys({ gte: "retained:", lt: "retained;" }).all()).toEqual([]);
  });
});
