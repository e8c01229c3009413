// aedes-persistence-level ships no types. Its async class (the one aedes 1.x takes) is extended by
// level-persistence.ts, which replaces its queue of QoS 1/2 copies: the methods it overrides or calls.
declare module "aedes-persistence-level/asyncPersistence.js" {
  import type { Readable } from "node:stream";
  import type { Client } from "aedes";
  import type { AedesPacket } from "aedes-packet";
  export default class AsyncLevelPersistence {
    constructor(db: unknown);
    setup(broker: unknown): Promise<void>;
    storeRetained(packet: AedesPacket): Promise<void>;
    createRetainedStream(pattern: string): Readable;
    createRetainedStreamCombi(patterns: string[]): Readable;
    outgoingEnqueue(sub: { clientId: string }, packet: AedesPacket): Promise<void>;
    outgoingEnqueueCombi(subs: { clientId: string }[], packet: AedesPacket): Promise<void>;
    outgoingUpdate(client: Client, packet: AedesPacket): Promise<void>;
    outgoingClearMessageId(client: Client, packet: AedesPacket): Promise<AedesPacket>;
    outgoingStream(client: Client): Readable;
    destroy(): Promise<void>;
  }
}

// msgpack-lite ships no types: aedes-persistence-level stores its values with it.
declare module "msgpack-lite" {
  const msgpack: { encode(value: unknown): Buffer; decode(buffer: Buffer): unknown };
  export default msgpack;
}
