import type { Writable } from "node:stream";

/** PUBACK's first byte (MQTT 3.1.1 §3.4: packet type 4, no flags) and its remaining length. */
const PUBACK = 0x40;
const PUBACK_REMAINING = 0x02;

/**
 * The PUBACKs of one connection to the broker, held until the messages they acknowledge are
 * durable, then written to its socket.
 *
 * MQTT.js sends a message's PUBACK from `handleMessage`'s callback, and hands over the next
 * message only after that callback: tied to durability, one message at a time would be in flight
 * and each would need its own commit. So the source calls back at once with an error, on which
 * MQTT.js sends nothing, and holds the message's ID here; `release` writes the PUBACKs once the
 * batch is durable, straight to the socket, between the packets MQTT.js writes there (each of those
 * goes in one corked write). When the connection drops, what is held dies with it and the broker
 * delivers those messages again in the next session: exactly what an unacknowledged QoS 1 message
 * must do.
 *
 * MQTT 3.1.1 [MQTT-4.6.0-2]: PUBACKs go out in the order the PUBLISHes came; release keeps it.
 */
export class HeldAcks {
  /** Message IDs held, in arrival order, from `head` on. */
  private held: number[] = [];
  private head = 0;
  /** Released before the messages that came before them. */
  private readonly early = new Set<number>();

  constructor(private readonly socket: Writable) {}

  /** PUBACKs waiting for their messages to become durable. */
  get heldCount(): number {
    return this.held.length - this.head;
  }

  /** A message arrived: its PUBACK waits for `release`. */
  hold(messageId: number): void {
    this.held.push(messageId);
  }

  /** A message that will not be acknowledged in this session (the broker delivers it again in the next): the ones after it need not wait for it. */
  forget(messageId: number): void {
    const at = this.held.indexOf(messageId, this.head);
    if (at !== -1) this.held.splice(at, 1);
    this.writeReleased();
  }

  /** The messages with these IDs are durable: their PUBACKs may go (in arrival order). */
  release(messageIds: Iterable<number>): void {
    if (this.socket.destroyed) return;
    // Batches are released in the order they came, so the IDs usually match the head of the queue.
    let end = this.head;
    for (const id of messageIds) {
      if (end === this.held.length || this.held[end] !== id || this.early.size > 0) this.early.add(id);
      else end++;
    }
    this.writeReleased(end);
  }

  /** Writes the PUBACKs from the head up to `end`, and on while the next ones were released early. */
  private writeReleased(end = this.head): void {
    while (end < this.held.length && this.early.delete(this.held[end] as number)) end++;
    const n = end - this.head;
    if (n === 0 || this.socket.destroyed) return;
    const out = Buffer.allocUnsafe(4 * n);
    for (let i = 0; i < n; i++) {
      out[4 * i] = PUBACK;
      out[4 * i + 1] = PUBACK_REMAINING;
      out.writeUInt16BE(this.held[this.head + i] as number, 4 * i + 2);
    }
    this.head = end;
    // The queue rarely empties under load: its released front goes once it is most of it.
    if (this.head > 1024 && this.head * 2 > this.held.length) {
      this.held = this.held.slice(this.head);
      this.head = 0;
    }
    this.socket.write(out);
  }
}
