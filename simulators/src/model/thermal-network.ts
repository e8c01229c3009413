/**
 * Lumped thermal model: one node per cell with a heat capacity, a conductance to ambient and one
 * to each neighbour in its module (cells in a row). Explicit Euler, which is stable while the
 * step stays below C / (G_ambient + 2·G_neighbour) (several minutes here); PackModel sub-steps at 1 s.
 */
export interface ThermalParameters {
  /** J/K per cell. */
  heatCapacity: number;
  /** W/K from a cell to ambient. */
  ambientConductance: number;
  /** W/K between neighbouring cells of a module. */
  neighbourConductance: number;
}

/** ~2 kg prismatic 100 Ah cell: ~2 kJ/K, relaxes to ambient over ~20 min; neighbours share heat through their faces. */
export function thermalParametersFor(capacityAh: number): ThermalParameters {
  const scale = capacityAh / 100;
  const heatCapacity = 2000 * scale;
  return { heatCapacity, ambientConductance: heatCapacity / 1200, neighbourConductance: 0.8 * scale };
}

export class ThermalNetwork {
  private readonly flow: number[];

  constructor(
    private readonly params: ThermalParameters,
    /** Cells per module: no conduction across module boundaries. */
    private readonly cellsPerModule: number,
    cellCount: number,
  ) {
    this.flow = new Array<number>(cellCount).fill(0);
  }

  /** The longest step this network integrates stably, s. */
  maxStableStep(): number {
    return this.params.heatCapacity / (this.params.ambientConductance + 2 * this.params.neighbourConductance);
  }

  /** Advances `temperatures` in place by `h` seconds with `heatW` generated in each cell. */
  step(temperatures: number[], ambientC: readonly number[], heatW: readonly number[], h: number): void {
    const { heatCapacity, ambientConductance, neighbourConductance } = this.params;
    const n = temperatures.length;
    for (let i = 0; i < n; i++) {
      const t = temperatures[i] ?? 0;
      let watts = (heatW[i] ?? 0) + ambientConductance * ((ambientC[i] ?? 0) - t);
      if (i % this.cellsPerModule !== 0) watts += neighbourConductance * ((temperatures[i - 1] ?? t) - t);
      if ((i + 1) % this.cellsPerModule !== 0 && i + 1 < n) watts += neighbourConductance * ((temperatures[i + 1] ?? t) - t);
      this.flow[i] = watts;
    }
    for (let i = 0; i < n; i++) temperatures[i] = (temperatures[i] ?? 0) + ((this.flow[i] ?? 0) * h) / heatCapacity;
  }
}
