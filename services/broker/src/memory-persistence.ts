import { Readable } from "node:stream";
import type { Client } from "aedes";
import Packet, { type AedesPacket } from "aedes-packet";
import MemoryPersistence from "aedes-persistence/asyncPersistence.js";

/** A stored copy of a packet, as aedes-persistence makes one (aedes-packet is a constructor; its types declare a plain function). */
const CopiedPacket = Packet as unknown as new (original: AedesPacket) => AedesPacket;

/** One queued QoS 1/2 copy, with the message ID it is indexed under. */
interface Queued {
  packet: AedesPacket;
  messageId: number | undefined;
}

/**
 * One session's queued copies in queue order, indexed by their origin (broker ID and counter) and
 * by message ID, so that each of aedes' calls per message is O(1).
 */
class OutgoingQueue {
  private next = 0;
  /** Queue order (a Map iterates in insertion order). */
  private readonly bySeq = new Map<number, Queued>();
  private readonly byOrigin = new Map<string, number>();
  /** Message ID → the copies holding it, oldest first (IDs wrap at 65 535). */
  private readonly byMessageId = new Map<number, number[]>();

  enqueue(packet: AedesPacket): void {
    const seq = this.next++;
    this.bySeq.set(seq, { packet, messageId: packet.messageId });
    this.byOrigin.set(originOf(packet), seq);
    if (packet.messageId !== undefined) this.indexId(packet.messageId, seq);
  }

  /**
   * The first copy in queue order that is this packet (same origin), or that came from another
   * broker with the same message ID, as aedes-persistence's own scan finds it; false when none.
   */
  update(packet: AedesPacket): boolean {
    const origin = originOf(packet);
    const own = this.byOrigin.get(origin);
    const foreign =
      packet.messageId === undefined
        ? undefined
        : this.byMessageId.get(packet.messageId)?.find((seq) => this.bySeq.get(seq)?.packet.brokerId !== packet.brokerId);
    const seq = own === undefined ? foreign : foreign === undefined ? own : Math.min(own, foreign);
    const queued = seq === undefined ? undefined : this.bySeq.get(seq);
    if (seq === undefined || queued === undefined) return false;
    if (seq === own) queued.packet.messageId = packet.messageId;
    else {
      // Another broker's copy under the same message ID: replaced by this one.
      this.byOrigin.delete(originOf(queued.packet));
      this.byOrigin.set(origin, seq);
      queued.packet = packet;
    }
    if (queued.messageId !== undefined) this.unindexId(queued.messageId, seq);
    queued.messageId = packet.messageId;
    if (packet.messageId !== undefined) this.indexId(packet.messageId, seq);
    return true;
  }

  /** Takes the oldest copy with this message ID off the queue. */
  clear(messageId: number | undefined): AedesPacket | undefined {
    const seq = messageId === undefined ? undefined : this.byMessageId.get(messageId)?.[0];
    const queued = seq === undefined ? undefined : this.bySeq.get(seq);
    if (seq === undefined || queued === undefined || messageId === undefined) return undefined;
    this.unindexId(messageId, seq);
    this.bySeq.delete(seq);
    const origin = originOf(queued.packet);
    if (this.byOrigin.get(origin) === seq) this.byOrigin.delete(origin);
    return queued.packet;
  }

  packets(): AedesPacket[] {
    return Array.from(this.bySeq.values(), (q) => q.packet);
  }

  get empty(): boolean {
    return this.bySeq.size === 0;
  }

  private indexId(messageId: number, seq: number): void {
    const seqs = this.byMessageId.get(messageId);
    if (!seqs) this.byMessageId.set(messageId, [seq]);
    else {
      seqs.push(seq);
      if (seqs.length > 1 && (seqs[seqs.length - 2] as number) > seq) seqs.sort((a, b) => a - b);
    }
  }

  private unindexId(messageId: number, seq: number): void {
    const seqs = this.byMessageId.get(messageId);
    if (!seqs) return;
    const at = seqs.indexOf(seq);
    if (at !== -1) seqs.splice(at, 1);
    if (seqs.length === 0) this.byMessageId.delete(messageId);
  }
}

function originOf(packet: AedesPacket): string {
  return `${packet.brokerId}\u0000${packet.brokerCounter}`;
}

/**
 * aedes' in-memory persistence (aedes-persistence) with the queues of QoS 1/2 copies for persistent
 * sessions indexed. Its own keeps a session's copies in an array and scans it from the oldest on
 * every delivery (`outgoingUpdate`) and splices it on every acknowledgement, so each message costs
 * the broker as much as the messages in flight before it: a subscriber that acknowledges a batch at
 * a time (the ingestion's group commit), or a backlog after a reconnect, made the broker's work per
 * message grow with the backlog. Everything else is aedes-persistence's own; its abstract suite runs
 * against this class (test/conformance/aedes-persistence.node.ts).
 */
export class IndexedMemoryPersistence extends MemoryPersistence {
  private readonly queues = new Map<string, OutgoingQueue>();

  private queueOf(clientId: string): OutgoingQueue {
    let queue = this.queues.get(clientId);
    if (!queue) {
      queue = new OutgoingQueue();
      this.queues.set(clientId, queue);
    }
    return queue;
  }

  override async outgoingEnqueue(sub: { clientId: string }, packet: AedesPacket): Promise<void> {
    this.queueOf(sub.clientId).enqueue(new CopiedPacket(packet));
  }

  override async outgoingEnqueueCombi(subs: { clientId: string }[], packet: AedesPacket): Promise<void> {
    for (const sub of subs) this.queueOf(sub.clientId).enqueue(new CopiedPacket(packet));
  }

  override async outgoingUpdate(client: Client, packet: AedesPacket): Promise<void> {
    if (!this.queues.get(client.id)?.update(packet)) throw new Error("no such packet");
  }

  override async outgoingClearMessageId(client: Client, packet: AedesPacket): Promise<AedesPacket> {
    const queue = this.queues.get(client.id);
    const cleared = queue?.clear(packet.messageId);
    if (queue?.empty) this.queues.delete(client.id);
    // aedes-persistence answers undefined when there is no such copy (its type says otherwise).
    return cleared as AedesPacket;
  }

  override outgoingStream(client: Client): Readable {
    return Readable.from(this.queues.get(client.id)?.packets() ?? []);
  }
}
