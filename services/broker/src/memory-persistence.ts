import { Readable } from "node:stream";
import type { Client } from "aedes";
import type { AedesPacket } from "aedes-packet";
import MemoryPersistence from "aedes-persistence/asyncPersistence.js";
import { CopiedPacket, OutgoingQueues } from "./outgoing-queue";

/**
 * aedes' in-memory persistence (aedes-persistence) with the queues of QoS 1/2 copies for persistent
 * sessions indexed (outgoing-queue.ts): with its own array, a subscriber that acknowledges a batch
 * at a time (the ingestion's group commit), or a backlog after a reconnect, made the broker's work
 * per message grow with the backlog. Everything else is aedes-persistence's own; its abstract suite runs
 * against this class (test/conformance/aedes-persistence.node.ts).
 */
export class IndexedMemoryPersistence extends MemoryPersistence {
  private readonly queues = new OutgoingQueues();

  override async outgoingEnqueue(sub: { clientId: string }, packet: AedesPacket): Promise<void> {
    this.queues.of(sub.clientId).enqueue(new CopiedPacket(packet));
  }

  override async outgoingEnqueueCombi(subs: { clientId: string }[], packet: AedesPacket): Promise<void> {
    for (const sub of subs) this.queues.of(sub.clientId).enqueue(new CopiedPacket(packet));
  }

  override async outgoingUpdate(client: Client, packet: AedesPacket): Promise<void> {
    if (!this.queues.get(client.id)?.update(packet)) throw new Error("no such packet");
  }

  override async outgoingClearMessageId(client: Client, packet: AedesPacket): Promise<AedesPacket> {
    // aedes-persistence answers undefined when there is no such copy (its type says otherwise).
    return this.queues.clear(client.id, packet.messageId)?.packet as AedesPacket;
  }

  override outgoingStream(client: Client): Readable {
    return Readable.from(
      this.queues
        .get(client.id)
        ?.copies()
        .map((copy) => copy.packet) ?? [],
    );
  }
}
