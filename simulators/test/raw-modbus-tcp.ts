import { connect, type Socket } from "node:net";

/** A raw Modbus TCP connection: write any bytes, read whole MBAP-framed responses. */
export class RawConnection {
  private buffered = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      for (const wake of this.waiters.splice(0)) wake();
    });
    socket.on("close", () => {
      this.closed = true;
      for (const wake of this.waiters.splice(0)) wake();
    });
    socket.on("error", () => {});
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => resolve(new RawConnection(socket)));
      socket.once("error", reject);
    });
  }

  send(bytes: readonly number[]): void {
    this.socket.write(Buffer.from(bytes));
  }

  /** The next response frame, or null if none arrives within `timeoutMs` or the server closed the connection. */
  async response(timeoutMs = 1500): Promise<number[] | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.buffered.length >= 6) {
        const total = 6 + this.buffered.readUInt16BE(4);
        if (this.buffered.length >= total) {
          const frame = [...this.buffered.subarray(0, total)];
          this.buffered = this.buffered.subarray(total);
          return frame;
        }
      }
      const left = deadline - Date.now();
      if (this.closed || left <= 0) return null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Every byte that arrives within the next `windowMs`, framed or not. */
  async bytesWithin(windowMs: number): Promise<Buffer> {
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const out = this.buffered;
    this.buffered = Buffer.alloc(0);
    return out;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** MBAP header (transaction ID, protocol 0, length) + unit + PDU. */
export function request(tid: number, unit: number, pdu: readonly number[], protocol = 0): number[] {
  const length = pdu.length + 1;
  return [tid >> 8, tid & 0xff, protocol >> 8, protocol & 0xff, length >> 8, length & 0xff, unit, ...pdu];
}

export function readPdu(fc: number, address: number, count: number): number[] {
  return [fc, address >> 8, address & 0xff, count >> 8, count & 0xff];
}

export function exception(tid: number, unit: number, fc: number, code: number): number[] {
  return [tid >> 8, tid & 0xff, 0, 0, 0, 3, unit, (fc | 0x80) & 0xff, code];
}
