import { Duplex } from "node:stream";
import { PacketFramer } from "./packet-framer";

/** PUBACK's first byte (MQTT 3.1.1 §3.4: packet type 4, no flags) and its remaining length. */
const PUBACK = 0x40;
const PUBACK_REMAINING = 0x02;

/**
 * Sits between MQTT.js and its socket and holds the PUBACKs back until the messages they
 * acknowledge are durable.
 *
 * MQTT.js hands over the next incoming PUBLISH only after `handleMessage`'s callback, and that
 * callback is also what sends the PUBACK: with the PUBACK tied to durability, one message at a time
 * would be in flight and every message would need its own commit. The gate lets the callback come
 * at once (the next message flows) while the PUBACK bytes wait here, in order, until `release`
 * names their message IDs (after the batch they belong to committed). Incoming bytes pass through
 * untouched; outgoing bytes are cut into packets at their fixed headers, and every packet but
 * PUBACK goes out as it came. When the connection drops, held PUBACKs die with it and the broker
 * delivers those messages again in the next session: exactly what an unacknowledged QoS 1 message
 * must do.
 *
 * MQTT 3.1.1 [MQTT-4.6.0-2]: PUBACKs go out in the order the PUBLISHes came; release keeps it.
 */
export class PubackGate extends Duplex {
  private readonly framer = new PacketFramer();
  /** Message IDs whose PUBACK MQTT.js wrote, oldest first. */
  private readonly held: number[] = [];
  /** Released before their PUBACK reached the gate. */
  private readonly early = new Set<number>();

  constructor(private readonly inner: Duplex) {
    super();
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
    if (acks) this.inner.write(acks);
  }

  /** The PUBACKs at the head of the queue whose messages were released, taken off it, as bytes. */
  private releasedAcks(): Buffer | null {
    let n = 0;
    while (n < this.held.length && this.early.delete(this.held[n] as number)) n++;
    if (n === 0) return null;
    const out = Buffer.allocUnsafe(4 * n);
    for (let i = 0; i < n; i++) {
      const id = this.held[i] as number;
      out[4 * i] = PUBACK;
      out[4 * i + 1] = PUBACK_REMAINING;
      out.writeUInt16BE(id, 4 * i + 2);
    }
    this.held.splice(0, n);
    return out;
  }

  override _read(): void {
    this.inner.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.forward(chunk, callback);
  }

  /**
   * MQTT.js corks its socket while it writes a packet in pieces (mqtt-packet writes a PUBACK as
   * three): the pieces come here together, and the framer sees whole packets.
   */
  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.forward(chunks.length === 1 ? (chunks[0] as { chunk: Buffer }).chunk : Buffer.concat(chunks.map((c) => c.chunk)), callback);
  }

  /** Holds the PUBACKs in `chunk` back and writes the rest of it through. */
  private forward(chunk: Buffer, callback: (error?: Error | null) => void): void {
    const out: Buffer[] = [];
    try {
      this.framer.take(chunk, (buf, start, end) => {
        if (buf[start] === PUBACK && end - start === 4) this.held.push(buf.readUInt16BE(start + 2));
        else out.push(buf.subarray(start, end));
      });
    } catch (err) {
      callback(err as Error);
      return;
    }
    const acks = this.releasedAcks();
    if (acks) out.push(acks);
    if (out.length === 0) callback();
    else this.inner.write(out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out), callback);
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
