import { Duplex } from "node:stream";
import mqttPacket, { type Packet } from "mqtt-packet";

/**
 * Sits between MQTT.js and its socket and holds the PUBACKs back until the messages they
 * acknowledge are durable.
 *
 * MQTT.js hands over the next incoming PUBLISH only after `handleMessage`'s callback, and that
 * callback is also what sends the PUBACK: with the PUBACK tied to durability, one message at a time
 * would be in flight and every message would need its own commit. The gate lets the callback come
 * at once (the next message flows) while the PUBACK bytes wait here, in order, until `release`
 * names their message IDs (after the batch they belong to committed). Incoming bytes pass through
 * untouched; outgoing bytes are parsed with mqtt-packet, and everything but PUBACK goes out as it
 * came. When the connection drops, held PUBACKs die with it and the broker delivers those messages
 * again in the next session: exactly what an unacknowledged QoS 1 message must do.
 *
 * MQTT 3.1.1 [MQTT-4.6.0-2]: PUBACKs go out in the order the PUBLISHes came; release keeps it.
 */
export class PubackGate extends Duplex {
  private readonly parser = mqttPacket.parser({ protocolVersion: 4 });
  /** Message IDs whose PUBACK MQTT.js wrote, oldest first. */
  private readonly held: number[] = [];
  /** Released before their PUBACK reached the gate. */
  private readonly early = new Set<number>();
  private readonly parsed: Packet[] = [];

  constructor(private readonly inner: Duplex) {
    super();
    this.parser.on("packet", (packet: Packet) => this.parsed.push(packet));
    this.parser.on("error", (err: Error) => this.destroy(err));
    inner.on("data", (chunk: Buffer) => {
      if (!this.push(chunk)) inner.pause();
    });
    inner.on("end", () => this.push(null));
    inner.on("error", (err) => this.destroy(err));
    inner.on("close", () => this.destroy());
  }

  /** PUBACKs waiting for their messages to become durable. */
  get heldCount(): number {
    return this.held.length;
  }

  /** The messages with these IDs are durable: their PUBACKs may go (in arrival order). */
  release(messageIds: Iterable<number>): void {
    if (this.destroyed) return;
    for (const id of messageIds) this.early.add(id);
    const acks = this.releasedAcks();
    if (acks.length > 0) this.inner.write(Buffer.concat(acks));
  }

  /** The PUBACKs at the head of the queue whose messages were released, taken off it. */
  private releasedAcks(): Buffer[] {
    let n = 0;
    while (n < this.held.length && this.early.delete(this.held[n] as number)) n++;
    return this.held.splice(0, n).map((messageId) => mqttPacket.generate({ cmd: "puback", messageId }));
  }

  override _read(): void {
    this.inner.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.parser.parse(chunk);
    const out: Buffer[] = [];
    for (const packet of this.parsed.splice(0)) {
      if (packet.cmd === "puback" && packet.messageId !== undefined) this.held.push(packet.messageId);
      else out.push(mqttPacket.generate(packet));
    }
    out.push(...this.releasedAcks());
    if (out.length === 0) callback();
    else this.inner.write(Buffer.concat(out), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.inner.end(callback);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.held.length = 0;
    this.early.clear();
    this.inner.destroy();
    callback(err);
  }
}
