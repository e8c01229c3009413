import type { Socket } from "node:net";
import { Duplex } from "node:stream";

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
 * The connection aedes gets: the socket's bytes pass through only once the scanner has seen them,
 * so a packet over `maxPacketSize` (or with a malformed length) never reaches aedes' parser, not
 * even a small one that fits in one read. At the first such packet the connection is destroyed,
 * with the chunk that announced it. Writes go straight to the socket, with its backpressure.
 */
export class PacketSizeLimitedConnection extends Duplex {
  private readonly scanner: PacketSizeScanner;

  constructor(
    readonly socket: Socket,
    maxPacketSize: number,
    onProblem: (problem: PacketSizeProblem) => void,
  ) {
    super({ allowHalfOpen: false });
    this.scanner = new PacketSizeScanner(maxPacketSize);
    socket.on("data", (chunk: Buffer) => {
      const problem = this.scanner.scan(chunk);
      if (problem !== undefined) {
        onProblem(problem);
        this.destroy();
      } else if (!this.push(chunk)) {
        socket.pause();
      }
    });
    socket.on("end", () => this.push(null));
    socket.on("error", (err) => this.destroy(err));
    socket.on("close", () => this.destroy());
  }

  /** The peer's address, as on the socket (for logs and the login throttle). */
  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.socket.write(chunk)) callback();
    else this.socket.once("drain", () => callback());
  }

  /** What aedes writes corked (mqtt-packet writes a packet in pieces) goes out in one socket write, as it would unwrapped. */
  override _writev(chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>, callback: (error?: Error | null) => void): void {
    this._write(Buffer.concat(chunks.map((c) => c.chunk)), "binary", callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(() => callback());
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(err);
  }
}
