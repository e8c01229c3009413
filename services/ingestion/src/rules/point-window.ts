/**
 * Least capacity of a window, a power of two: a minute of a 1 Hz stream, so that most windows
 * reach their size in two or three steps (allocating a typed array is what a step costs).
 */
const MIN_CAPACITY = 64;

/**
 * A sliding window of (ts, value) points in time order, in a ring of typed arrays that doubles
 * when full and halves when mostly empty. Adding and dropping points allocate nothing once the
 * ring has its size: a window over minutes of a 10 Hz stream holds thousands of points, and plain
 * arrays trimmed at the front and pushed at the back left a new backing store behind every few
 * hundred samples, for the garbage collector to copy and promote.
 */
export class PointWindow {
  /** Times in the first half of one buffer, values in the second: one allocation per size. */
  private ts: Float64Array<ArrayBuffer>;
  private values: Float64Array<ArrayBuffer>;
  private head = 0;
  private count = 0;

  constructor() {
    [this.ts, this.values] = halves(MIN_CAPACITY);
  }

  get length(): number {
    return this.count;
  }

  /** The i-th oldest point's time (0 is the oldest). */
  tsAt(i: number): number {
    return this.ts[(this.head + i) & (this.ts.length - 1)] as number;
  }

  /** The i-th oldest point's value. */
  valueAt(i: number): number {
    return this.values[(this.head + i) & (this.ts.length - 1)] as number;
  }

  /**
   * Adds a point after the newest. One older than the newest is ignored: a lane's samples come in
   * time order, and the window's searches rely on it.
   */
  push(ts: number, value: number): void {
    if (this.count > 0 && ts < this.tsAt(this.count - 1)) return;
    if (this.count === this.ts.length) this.resize(this.ts.length * 2);
    const at = (this.head + this.count) & (this.ts.length - 1);
    this.ts[at] = ts;
    this.values[at] = value;
    this.count++;
  }

  /** The index of the first point at or after `ts` (`length` when there is none). */
  firstAtOrAfter(ts: number): number {
    return this.search((t) => t < ts);
  }

  /** The index of the first point after `ts` (`length` when there is none). */
  firstAfter(ts: number): number {
    return this.search((t) => t <= ts);
  }

  /** The first index whose time `before` does not hold for (the points are in time order). */
  private search(before: (t: number) => boolean): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(this.tsAt(mid))) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Drops the points older than `ts` from the front. */
  dropBefore(ts: number): void {
    const mask = this.ts.length - 1;
    while (this.count > 0 && (this.ts[this.head] as number) < ts) {
      this.head = (this.head + 1) & mask;
      this.count--;
    }
    if (this.ts.length > MIN_CAPACITY && this.count < this.ts.length / 4) this.resize(this.ts.length / 2);
  }

  /** Copies the points, oldest first, into rings of `capacity`: the part up to the ring's end, then the wrapped part. */
  private resize(capacity: number): void {
    const [ts, values] = halves(capacity);
    unwrap(this.ts, ts, this.head, this.count);
    unwrap(this.values, values, this.head, this.count);
    this.ts = ts;
    this.values = values;
    this.head = 0;
  }
}

function halves(capacity: number): [Float64Array<ArrayBuffer>, Float64Array<ArrayBuffer>] {
  const buffer = new ArrayBuffer(2 * capacity * Float64Array.BYTES_PER_ELEMENT);
  return [new Float64Array(buffer, 0, capacity), new Float64Array(buffer, capacity * Float64Array.BYTES_PER_ELEMENT, capacity)];
}

function unwrap(ring: Float64Array, out: Float64Array, head: number, count: number): void {
  const first = Math.min(count, ring.length - head);
  out.set(ring.subarray(head, head + first));
  out.set(ring.subarray(0, count - first), first);
}
