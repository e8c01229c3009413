import Packet, { type AedesPacket } from "aedes-packet";

/** A stored copy of a packet, as aedes-persistence makes one (aedes-packet is a constructor; its types declare a plain function). */
export const CopiedPacket = Packet as unknown as new (original: AedesPacket) => AedesPacket;

/** One queued QoS 1/2 copy for a persistent session. */
export interface QueuedCopy {
  /** Where the copy came from (the broker and its counter): its identity in the queue. */
  brokerId: string;
  brokerCounter: number;
  /** The message ID it was sent under, once aedes gave it one. */
  messageId: number | undefined;
  /** The copy; undefined once the disk persistence dropped it from memory (it is then only on disk). */
  packet: AedesPacket | undefined;
}

/**
 * One session's queued copies in queue order, indexed by their origin (broker ID and counter) and
 * by message ID, so that each of aedes' calls per message is O(1). aedes-persistence's own keeps
 * an array and scans it from the oldest on every delivery and splices it on every acknowledgement,
 * so each message costs as much as the messages in flight before it.
 */
export class OutgoingQueue {
  private next = 0;
  /** Queue order (a Map iterates in insertion order). */
  private readonly bySeq = new Map<number, QueuedCopy>();
  private readonly byOrigin = new Map<string, number>();
  /** Message ID → the copies holding it, oldest first (IDs wrap at 65 535). */
  private readonly byMessageId = new Map<number, number[]>();

  enqueue(packet: AedesPacket): QueuedCopy {
    const copy: QueuedCopy = { brokerId: packet.brokerId, brokerCounter: packet.brokerCounter, messageId: packet.messageId, packet };
    const seq = this.next++;
    this.bySeq.set(seq, copy);
    this.byOrigin.set(originOf(copy), seq);
    if (copy.messageId !== undefined) this.indexId(copy.messageId, seq);
    return copy;
  }

  /**
   * Gives the first copy in queue order that is this packet (same origin), or that came from
   * another broker with the same message ID (as aedes-persistence's own scan finds it), this
   * packet's message ID; a copy from another broker is replaced by this packet. Answers the copy
   * and, when it was replaced, the origin it had; undefined when there is none.
   */
  update(packet: AedesPacket): { copy: QueuedCopy; replacedOrigin?: { brokerId: string; brokerCounter: number } } | undefined {
    const own = this.byOrigin.get(originOf(packet));
    const foreign =
      packet.messageId === undefined ? undefined : this.byMessageId.get(packet.messageId)?.find((seq) => this.bySeq.get(seq)?.brokerId !== packet.brokerId);
    const seq = own === undefined ? foreign : foreign === undefined ? own : Math.min(own, foreign);
    const copy = seq === undefined ? undefined : this.bySeq.get(seq);
    if (seq === undefined || copy === undefined) return undefined;
    let replacedOrigin: { brokerId: string; brokerCounter: number } | undefined;
    if (seq === own) {
      if (copy.packet) copy.packet.messageId = packet.messageId;
    } else {
      replacedOrigin = { brokerId: copy.brokerId, brokerCounter: copy.brokerCounter };
      this.byOrigin.delete(originOf(copy));
      copy.brokerId = packet.brokerId;
      copy.brokerCounter = packet.brokerCounter;
      copy.packet = packet;
      this.byOrigin.set(originOf(copy), seq);
    }
    if (copy.messageId !== undefined) this.unindexId(copy.messageId, seq);
    copy.messageId = packet.messageId;
    if (packet.messageId !== undefined) this.indexId(packet.messageId, seq);
    return replacedOrigin ? { copy, replacedOrigin } : { copy };
  }

  /** Takes the oldest copy with this message ID off the queue. */
  clear(messageId: number | undefined): QueuedCopy | undefined {
    const seq = messageId === undefined ? undefined : this.byMessageId.get(messageId)?.[0];
    const copy = seq === undefined ? undefined : this.bySeq.get(seq);
    if (seq === undefined || copy === undefined || messageId === undefined) return undefined;
    this.unindexId(messageId, seq);
    this.bySeq.delete(seq);
    const origin = originOf(copy);
    if (this.byOrigin.get(origin) === seq) this.byOrigin.delete(origin);
    return copy;
  }

  /** The queued copies in queue order, as they are now. */
  copies(): QueuedCopy[] {
    return Array.from(this.bySeq.values());
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

/** Every persistent session's queue by client ID; a queue that empties is dropped, so the map does not grow with clients. */
export class OutgoingQueues {
  private readonly queues = new Map<string, OutgoingQueue>();

  /** The client's queue, made when it has none. */
  of(clientId: string): OutgoingQueue {
    let queue = this.queues.get(clientId);
    if (!queue) {
      queue = new OutgoingQueue();
      this.queues.set(clientId, queue);
    }
    return queue;
  }

  get(clientId: string): OutgoingQueue | undefined {
    return this.queues.get(clientId);
  }

  /** Takes the oldest copy with this message ID off the client's queue. */
  clear(clientId: string, messageId: number | undefined): QueuedCopy | undefined {
    const queue = this.queues.get(clientId);
    const copy = queue?.clear(messageId);
    if (queue?.empty) this.queues.delete(clientId);
    return copy;
  }
}

function originOf(origin: { brokerId: string; brokerCounter: number }): string {
  return `${origin.brokerId}\u0000${origin.brokerCounter}`;
}
