/**
 * The most recent `capacity` distinct keys, the oldest forgotten first, every operation O(1).
 *
 * Not a Map or Set evicting through `keys().next()`: V8 leaves a deleted entry as a hole at the
 * front of its table until the table is rebuilt, so at capacity each eviction scans past every hole
 * before it. A filter of 100 000 keys then spent tens of µs per key (docs/architecture.md,
 * "Throughput and latency"). A ring of the keys in arrival order says which key goes next instead.
 */
export class RecentKeys {
  private readonly keys = new Set<string>();
  private readonly ring: (string | undefined)[];
  private next = 0;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a whole number of at least 1, got ${capacity}`);
    this.ring = new Array<string | undefined>(capacity);
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  /** Adds the key (a key already held keeps its place); forgets the oldest past the capacity. */
  add(key: string): void {
    if (this.keys.has(key)) return;
    const oldest = this.ring[this.next];
    if (oldest !== undefined) this.keys.delete(oldest);
    this.ring[this.next] = key;
    this.next = (this.next + 1) % this.capacity;
    this.keys.add(key);
  }

  get size(): number {
    return this.keys.size;
  }
}
