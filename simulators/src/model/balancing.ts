/** Balancing bleeds a cell this far above the lowest of its string, V. */
const BALANCE_THRESHOLD_V = 0.015;

/**
 * Passive balancing near the top of charge: while charging or resting with the highest cell above
 * the chemistry's balancing voltage, bleed every cell more than 15 mV above the lowest of its string.
 */
export class Balancer {
  /** Cells bled now. */
  readonly bleeding: boolean[];

  constructor(
    private readonly cellsPerString: number,
    private readonly strings: number,
    /** V above which the highest cell starts balancing. */
    private readonly startV: number,
  ) {
    this.bleeding = new Array<boolean>(cellsPerString * strings).fill(false);
  }

  /** Decides which cells bleed over the next sub-step from the measured voltages. */
  decide(voltages: readonly number[], current: number, tripped: boolean): void {
    const n = this.bleeding.length;
    const near = !tripped && current >= -0.5 && Math.max(...voltages) >= this.startV;
    for (let s = 0; s < this.strings; s++) {
      const from = s * this.cellsPerString;
      const to = Math.min(n, from + this.cellsPerString);
      let minV = Number.POSITIVE_INFINITY;
      for (let i = from; i < to; i++) minV = Math.min(minV, voltages[i] ?? minV);
      for (let i = from; i < to; i++) this.bleeding[i] = near && (voltages[i] ?? 0) - minV > BALANCE_THRESHOLD_V;
    }
  }
}
