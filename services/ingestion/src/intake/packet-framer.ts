/**
 * Cuts a stream of MQTT packets into whole packets by their fixed header (MQTT 3.1.1 §2.2: one
 * byte of type and flags, then the remaining length in one to four bytes of seven bits each).
 *
 * The PUBACK gate needs only where each outgoing packet ends and whether it is a PUBACK. A full
 * parse and re-encode of every packet with mqtt-packet, which the client itself already encoded,
 * cost a tenth of the ingestion's allocations; what passes through is the client's own bytes.
 */
export class PacketFramer {
  /** The start of a packet whose bytes have not all come yet. */
  private partial: Buffer | null = null;

  /**
   * Hands every whole packet in what came so far to `onPacket` as `buf[start, end)` (valid during
   * the call): a caller that only looks at a few bytes makes no view of its own.
   */
  take(chunk: Buffer, onPacket: (buf: Buffer, start: number, end: number) => void): void {
    const buf = this.partial ? Buffer.concat([this.partial, chunk]) : chunk;
    this.partial = null;
    let offset = 0;
    while (offset < buf.length) {
      const end = packetEnd(buf, offset);
      if (end === null) break;
      onPacket(buf, offset, end);
      offset = end;
    }
    // Copied: the caller may reuse its chunk.
    if (offset < buf.length) this.partial = Buffer.from(buf.subarray(offset));
  }
}

/** Where the packet starting at `offset` ends, or null when its bytes have not all come. */
function packetEnd(buf: Buffer, offset: number): number | null {
  let length = 0;
  let multiplier = 1;
  for (let i = offset + 1; i < offset + 5; i++) {
    if (i >= buf.length) return null;
    const byte = buf[i] as number;
    length += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) {
      const end = i + 1 + length;
      return end <= buf.length ? end : null;
    }
    multiplier *= 128;
  }
  throw new Error("malformed MQTT packet: a remaining length longer than four bytes");
}
