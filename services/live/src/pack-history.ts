import type { PackHistoryPoint, PackSample } from "@bms/shared";

/** The fields kept per sample, besides ts and seq, in this order. */
const FIELDS = ["soc", "packVoltage", "current", "cellVoltageMin", "cellVoltageMax", "temperatureMin", "temperatureMax"] as const;
const WIDTH = FIELDS.length;

/** What `insert` did. `too-old`: the history is full and the sample is older than all of it. */
export type InsertResult = "added" | "duplicate" | "too-old";

function min(values: readonly number[]): number {
  let out = Number.NaN;
  for (const v of values) if (!(v >= out)) out = v;
  return out;
}

function max(values: readonly number[]): number {
  let out = Number.NaN;
  for (const v of values) if (!(v <= out)) out = v;
  return out;
}

/** float32 → the 7 significant digits it holds, so 51.2 reads back as 51.2 and not 51.20000076. */
function readBack(value: number): number | null {
  return Number.isNaN(value) ? null : Number(value.toPrecision(7));
}

/**
 * A pack's recent samples, compactly: a fixed ring of `capacity` points of ts and seq (float64)
 * and seven charted values (float32), 44 bytes a sample whatever the cell count, allocated once.
 * Points stay in time order: a late sample (an agent replaying its outbox) is inserted in place.
 */
export class PackHistory {
  private readonly ts: Float64Array;
  private readonly seq: Float64Array;
  private readonly values: Float32Array;
  private start = 0;
  private length = 0;

  constructor(readonly capacity: number) {
    this.ts = new Float64Array(capacity);
    this.seq = new Float64Array(capacity);
    this.values = new Float32Array(capacity * WIDTH);
  }

  get size(): number {
    return this.length;
  }

  private at(i: number): number {
    return (this.start + i) % this.capacity;
  }

  private copy(from: number, to: number): void {
    this.ts[to] = this.ts[from] ?? 0;
    this.seq[to] = this.seq[from] ?? 0;
    this.values.copyWithin(to * WIDTH, from * WIDTH, from * WIDTH + WIDTH);
  }

  insert(sample: PackSample): InsertResult {
    // Scanning from the newest is O(1) for the usual in-order sample.
    let p = this.length;
    while (p > 0 && (this.ts[this.at(p - 1)] ?? 0) > sample.ts) p--;
    if (p > 0) {
      const previous = this.at(p - 1);
      if (this.ts[previous] === sample.ts && this.seq[previous] === sample.seq) return "duplicate";
    }
    if (this.length === this.capacity) {
      if (p === 0) return "too-old";
      this.start = this.at(1);
      this.length--;
      p--;
    }
    for (let i = this.length; i > p; i--) this.copy(this.at(i - 1), this.at(i));
    const slot = this.at(p);
    this.ts[slot] = sample.ts;
    this.seq[slot] = sample.seq;
    const row = [
      sample.soc,
      sample.packVoltage,
      sample.current,
      min(sample.cellVoltages),
      max(sample.cellVoltages),
      min(sample.cellTemperatures),
      max(sample.cellTemperatures),
    ];
    this.values.set(row, slot * WIDTH);
    this.length++;
    return "added";
  }

  /** Points with from ≤ ts ≤ to, oldest first. */
  points(from: number, to: number): PackHistoryPoint[] {
    const out: PackHistoryPoint[] = [];
    for (let i = 0; i < this.length; i++) {
      const slot = this.at(i);
      const ts = this.ts[slot] ?? 0;
      if (ts < from || ts > to) continue;
      const v = (k: number) => this.values[slot * WIDTH + k] ?? Number.NaN;
      out.push({
        ts,
        soc: readBack(v(0)) ?? 0,
        packVoltage: readBack(v(1)) ?? 0,
        current: readBack(v(2)) ?? 0,
        cellVoltageMin: readBack(v(3)),
        cellVoltageMax: readBack(v(4)),
        temperatureMin: readBack(v(5)),
        temperatureMax: readBack(v(6)),
      });
    }
    return out;
  }
}
