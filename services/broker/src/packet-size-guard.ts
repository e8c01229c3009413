import type { Duplex } from "node:stream";

/**
 * aedes 1.x has no maximum packet size (its issue #831): mqtt-packet's parser buffers a packet
 * until the length its fixed header announces has arrived, up to 256 MB, authenticated or not.
 * This scanner follows the packet boundaries of one connection's byte stream and judges each packet
 * by its fixed header alone (type byte, then 1-4 bytes of Remaining Length), so an oversized
 * CONNECT is refused from its first few bytes, before authentication and before its body is read.
 */

export type PacketSizeProblem = { kind: "too-large"; size: number; limit: number } | { kind: "malformed-length" };

/** Where the scanner is in the current packet. */
type Part = "type" | "length" | "body";

export class PacketSizeScanner {
  private part: Part = "type";
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  /** Body bytes of the current packet still to pass. */
  private remaining = 0;
  private problem: PacketSizeProblem | undefined;

  constructor(private readonly maxPacketSize: number) {}

  /** Follows `chunk`; returns the first problem found (then, and for every later call, the same one). */
  scan(chunk: Uint8Array): PacketSizeProblem | undefined {
    let i = 0;
    while (i < chunk.length && this.problem === undefined) {
      if (this.part === "body") {
        const step = Math.min(this.remaining, chunk.length - i);
        i += step;
        this.remaining -= step;
        if (this.remaining === 0) this.part = "type";
      } else if (this.part === "type") {
        i += 1;
        this.part = "length";
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
      } else {
        const byte = chunk[i] ?? 0;
        i += 1;
        this.lengthBytes += 1;
        this.length += (byte & 0x7f) * this.multiplier;
        this.multiplier *= 128;
        if ((byte & 0x80) !== 0) {
          // MQTT allows at most 4 length bytes: a fifth is a malformed packet.
          if (this.lengthBytes === 4) this.problem = { kind: "malformed-length" };
          continue;
        }
        const size = 1 + this.lengthBytes + this.length;
        if (size > this.maxPacketSize) this.problem = { kind: "too-large", size, limit: this.maxPacketSize };
        this.remaining = this.length;
        this.part = this.remaining === 0 ? "type" : "body";
      }
    }
    return this.problem;
  }
}

/**
 * Watches what aedes reads from `conn` and destroys the connection at the first packet over
 * `maxPacketSize` (or with a malformed length). aedes reads with `read()` on 'readable'; with a
 * 'readable' listener present, Node emits 'data' for each chunk `read()` returns without switching
 * the stream to flowing mode, so this sees every byte, in order, as aedes gets it. Call it after
 * `aedes.handle(conn)`.
 */
export function guardPacketSize(conn: Duplex, maxPacketSize: number, onProblem: (problem: PacketSizeProblem) => void): void {
  const scanner = new PacketSizeScanner(maxPacketSize);
  const onData = (chunk: Buffer | string) => {
    const problem = scanner.scan(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
    if (problem === undefined) return;
    conn.off("data", onData);
    onProblem(problem);
    conn.destroy();
  };
  conn.on("data", onData);
}
