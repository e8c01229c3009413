/**
 * Modbus RTU framing (Modbus over serial line v1.02 §2.5.1.1): a frame ends with a silence of
 * 3.5 character times (t3.5); each character is 11 bits; above 19200 baud t3.5 is fixed at
 * 1.75 ms. Frames are at most 256 bytes (address + PDU + CRC).
 */

export const MAX_RTU_FRAME_BYTES = 256;

/** t3.5 at `baudRate`, ms. */
export function t35Ms(baudRate: number): number {
  return baudRate > 19_200 ? 1.75 : (3.5 * 11 * 1000) / baudRate;
}

/**
 * Gathers the bytes of a serial line into frames split on silences of `gapMs`: every byte restarts
 * the silence timer; when it runs out, what was gathered is one frame. A frame that grows past
 * 256 bytes (line noise, a babbling master) is dropped whole, and so is the rest of it up to the
 * next silence; `onFrame` never sees it.
 */
export class RtuFrameAssembler {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private overlong = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    /** Silence that ends a frame, ms (node's timers round it to whole ms). */
    private readonly gapMs: number,
    private readonly onFrame: (frame: Buffer) => void,
    /** Called with the byte count of each overlong frame dropped. */
    private readonly onOverlong: (bytes: number) => void = () => {},
  ) {}

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.bytes > MAX_RTU_FRAME_BYTES) {
      this.overlong = true;
      this.chunks = [];
    } else {
      this.chunks.push(chunk);
    }
    if (this.timer) this.timer.refresh();
    else this.timer = setTimeout(() => this.silence(), this.gapMs);
  }

  /** Drops whatever was gathered and stops the timer. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.chunks = [];
    this.bytes = 0;
    this.overlong = false;
  }

  private silence(): void {
    this.timer = undefined;
    const { chunks, bytes, overlong } = this;
    this.chunks = [];
    this.bytes = 0;
    this.overlong = false;
    if (overlong) this.onOverlong(bytes);
    else if (bytes > 0) this.onFrame(Buffer.concat(chunks, bytes));
  }
}
