import { Readable } from "node:stream";
import type { Client } from "aedes";
import type { AedesPacket } from "aedes-packet";
import AsyncLevelPersistence from "aedes-persistence-level/asyncPersistence.js";
import type { ClassicLevel } from "classic-level";
import msgpack from "msgpack-lite";
import { LevelWriteBatcher } from "./level-write-batcher";
import { CopiedPacket, OutgoingQueues, type QueuedCopy } from "./outgoing-queue";

/** aedes-persistence-level's key prefixes: the data stays readable by it, and its data by this. */
const OUTGOING = "outgoing:";
/** Its index of queued copies by message ID, kept in memory here: cleared when the broker starts. */
const OUTGOING_BY_ID = "outgoing-id:";
const RETAINED = "retained:";

/**
 * Queued copies whose packet stays in memory, the newest; older ones are read back from disk when
 * a reconnecting session's queue is sent (a backlog of hours would not fit in memory).
 */
const CACHED_COPIES = 10_000;
/** Copies read from disk per call when a queue is sent. */
const READ_CHUNK = 256;

/** The range of keys under a prefix ending in ':' (';' is the next byte). */
const under = (prefix: string) => ({ gte: prefix, lt: `${prefix.slice(0, -1)};` });

/** aedes-persistence-level's key of a queued copy: the client, then the copy's origin in queue order. */
function outgoingKey(clientId: string, origin: { brokerId: string; brokerCounter: number }): string {
  return `${OUTGOING}${encodeURIComponent(clientId)}:${origin.brokerId}:${String(origin.brokerCounter).padStart(16, "0")}`;
}

/** A stored packet; msgpack gives back an unset message ID as null. */
function decode(value: Buffer): AedesPacket {
  const packet = msgpack.decode(value) as AedesPacket;
  if (packet.messageId === null) packet.messageId = undefined;
  return packet;
}

function clientOfKey(key: string): string {
  return decodeURIComponent(key.slice(OUTGOING.length, key.indexOf(":", OUTGOING.length)));
}

/**
 * aedes-persistence-level (sessions, subscriptions, retained messages and wills in LevelDB), with
 * the queues of QoS 1/2 copies for persistent sessions held and indexed in memory and written to
 * disk by group commit (level-write-batcher.ts). Its own queue cost each message six or seven
 * LevelDB calls (a put to queue it; a get, a delete and two puts when it is sent; a get and a
 * batch when it is acknowledged), a quarter of the broker's time at 1 000 messages/s, and a
 * publish waited for its store to come back. Here a message costs an entry in the next batch, and
 * none at all when it is acknowledged before that batch goes out.
 * - A publish is answered once its copies are written (the batch that holds them), in call order:
 *   aedes drops a message as a duplicate when one with a higher counter reached the client first
 *   (aedes issue #955), so stores answered out of order would lose messages.
 * - A delivery's message ID and an acknowledgement are answered at once and written behind: after
 *   a crash, a copy comes again (QoS 1 is at least once), never lost.
 * - Retained messages go through the same batches; reading them waits for the writes before.
 * aedes-persistence's abstract suite runs against this class (test/conformance/aedes-persistence-level.node.ts).
 */
export class LevelPersistence extends AsyncLevelPersistence {
  private readonly queues = new OutgoingQueues();
  private readonly writes: LevelWriteBatcher;
  /** Copies that held their packet in memory when queued, oldest first (an acknowledged one has let it go). */
  private cached: QueuedCopy[] = [];

  constructor(
    private readonly db: ClassicLevel<string, string>,
    onError: (err: unknown) => void,
  ) {
    super(db);
    this.writes = new LevelWriteBatcher(db, onError);
  }

  /** Resolves once everything stored so far is on disk. */
  written(): Promise<void> {
    return this.writes.written();
  }

  override async setup(broker: unknown): Promise<void> {
    await super.setup(broker);
    await this.db.clear(under(OUTGOING_BY_ID));
    for await (const [key, value] of this.db.iterator<string, Buffer>({ ...under(OUTGOING), valueEncoding: "buffer" })) {
      this.keep(this.queues.of(clientOfKey(key)).enqueue(decode(value)));
    }
  }

  override async storeRetained(packet: AedesPacket): Promise<void> {
    const { topic, payload } = packet as AedesPacket & { topic: string; payload: Buffer | string };
    const key = `${RETAINED}${topic}`;
    if (payload.length === 0) this.writes.del(key);
    else this.writes.put(key, msgpack.encode(packet));
  }

  override createRetainedStream(pattern: string): Readable {
    return Readable.from(this.afterWrites(() => super.createRetainedStream(pattern)));
  }

  override createRetainedStreamCombi(patterns: string[]): Readable {
    return Readable.from(this.afterWrites(() => super.createRetainedStreamCombi(patterns)));
  }

  override async outgoingEnqueue(sub: { clientId: string }, packet: AedesPacket): Promise<void> {
    this.enqueue(sub.clientId, packet);
    await this.writes.written();
  }

  override async outgoingEnqueueCombi(subs: { clientId: string }[], packet: AedesPacket): Promise<void> {
    if (subs.length === 0) return;
    for (const sub of subs) this.enqueue(sub.clientId, packet);
    await this.writes.written();
  }

  override async outgoingUpdate(client: Client, packet: AedesPacket): Promise<void> {
    const updated = this.queues.get(client.id)?.update(packet);
    if (!updated) throw new Error("no such packet");
    const { copy, replacedOrigin } = updated;
    if (replacedOrigin) this.writes.del(outgoingKey(client.id, replacedOrigin));
    this.writes.put(outgoingKey(client.id, copy), () => msgpack.encode(copy.packet ?? packet));
  }

  override async outgoingClearMessageId(client: Client, packet: AedesPacket): Promise<AedesPacket> {
    const copy = this.queues.clear(client.id, packet.messageId);
    // aedes-persistence-level answers undefined when there is no such copy (its type says otherwise).
    if (!copy) return undefined as unknown as AedesPacket;
    const key = outgoingKey(client.id, copy);
    const cleared = copy.packet ?? (await this.read([key]))[0];
    // `cached` still lists the copy until it is trimmed: its packet goes now.
    copy.packet = undefined;
    this.writes.del(key);
    return cleared as AedesPacket;
  }

  override outgoingStream(client: Client): Readable {
    return Readable.from(this.packetsOf(client.id, this.queues.get(client.id)?.copies() ?? []));
  }

  override async destroy(): Promise<void> {
    await this.writes.written();
    await super.destroy();
  }

  private enqueue(clientId: string, packet: AedesPacket): void {
    const copy = this.queues.of(clientId).enqueue(new CopiedPacket(packet));
    // Encoded when its batch goes out, with the message ID it has then.
    const stored = copy.packet;
    this.writes.put(outgoingKey(clientId, copy), () => msgpack.encode(stored), true);
    this.keep(copy);
  }

  /** Keeps the copy's packet in memory; past CACHED_COPIES, the oldest half lets theirs go. */
  private keep(copy: QueuedCopy): void {
    this.cached.push(copy);
    if (this.cached.length <= 2 * CACHED_COPIES) return;
    const oldest = this.cached.length - CACHED_COPIES;
    for (let i = 0; i < oldest; i++) (this.cached[i] as QueuedCopy).packet = undefined;
    this.cached = this.cached.slice(oldest);
  }

  /** Stored packets by key, after the writes before (a copy let go may still be on its way). */
  private async read(keys: string[]): Promise<(AedesPacket | undefined)[]> {
    await this.writes.written();
    const values = await this.db.getMany<string, Buffer>(keys, { valueEncoding: "buffer" });
    return values.map((value) => (value === undefined ? undefined : decode(value)));
  }

  /** A queue's packets in order: those in memory as they are, the others read from disk in chunks. */
  private async *packetsOf(clientId: string, copies: QueuedCopy[]): AsyncGenerator<AedesPacket> {
    for (let start = 0; start < copies.length; start += READ_CHUNK) {
      const chunk = copies.slice(start, start + READ_CHUNK);
      const missing = chunk.filter((copy) => copy.packet === undefined);
      const read = missing.length === 0 ? [] : await this.read(missing.map((copy) => outgoingKey(clientId, copy)));
      const fromDisk = new Map(missing.map((copy, i) => [copy, read[i]]));
      for (const copy of chunk) {
        // A copy acknowledged meanwhile is no longer on disk: skipped.
        const packet = copy.packet ?? fromDisk.get(copy);
        if (packet) yield packet;
      }
    }
  }

  private async *afterWrites(open: () => Readable): AsyncGenerator<unknown> {
    await this.writes.written();
    yield* open();
  }
}
