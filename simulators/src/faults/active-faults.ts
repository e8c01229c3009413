import { faultModule, type ResolvedFault } from "../faults";
import type { LinkCondition } from "../link-condition";
import type { BmsEffects, CellEffects, FaultHooks, FaultPack } from "./fault-module";

/** What the active faults do to a pack in one sub-step, from their times alone. */
export interface FaultEffects {
  cells: CellEffects;
  bms: BmsEffects;
  /** A current the load draws whatever the BMS allows, A (+ charging); undefined: none. */
  loadCurrentA: number | undefined;
}

interface Active {
  fault: ResolvedFault;
  /** Simulated time of injection, s. */
  injectedAt: number;
  hooks: FaultHooks;
  measuresInsulation: boolean;
}

/** How much a link condition disturbs: the worst one of all active faults wins (the first among equals). */
const LINK_SEVERITY: Record<LinkCondition["kind"], number> = { ok: 0, garbled: 1, silent: 2 };

/**
 * The faults injected into one pack, in injection order, and the calls into their hooks. Each
 * hook runs only while its fault acts (its `startAfterS` has passed); the pack model calls these
 * at fixed points of a sub-step and never looks at a fault's kind.
 */
export class ActiveFaults {
  private active: Active[] = [];
  /** The effects of no fault at all, shared (nothing writes to them without a fault's hook). */
  private none: FaultEffects | undefined;

  constructor(
    private readonly pack: FaultPack,
    private readonly cellCount: number,
  ) {}

  /** Activates a resolved fault at simulated time `now`. */
  add(fault: ResolvedFault, now: number): void {
    const module = faultModule(fault);
    this.active.push({ fault, injectedAt: now, hooks: module.activate(fault), measuresInsulation: module.measuresInsulation });
  }

  clear(): void {
    this.active = [];
  }

  /** The faults as injected (defaults filled in), copies. */
  list(): ResolvedFault[] {
    return this.active.map((a) => ({ ...a.fault }));
  }

  /** True while a present fault makes the BMS measure insulation. */
  measuresInsulation(): boolean {
    return this.active.some((a) => a.measuresInsulation);
  }

  /** Effects at simulated time `now` on the cells, the BMS and the load. */
  effects(now: number): FaultEffects {
    if (this.active.length === 0) {
      this.none ??= this.noEffects();
      return this.none;
    }
    const fx = this.noEffects();
    for (const a of this.active) {
      const t = this.elapsed(a, now);
      if (t < 0) continue;
      a.hooks.cells?.(t, fx.cells);
      fx.loadCurrentA = a.hooks.loadCurrentA?.(t, this.pack) ?? fx.loadCurrentA;
      a.hooks.bms?.(t, fx.bms, this.pack);
    }
    return fx;
  }

  private noEffects(): FaultEffects {
    const n = this.cellCount;
    return {
      cells: { capacityFactor: new Array<number>(n).fill(1), resistanceFactor: new Array<number>(n).fill(1), leakA: new Array<number>(n).fill(0) },
      bms: { forced: new Set(), insulationKOhm: this.pack.healthyInsulationKOhm },
      loadCurrentA: undefined,
    };
  }

  /** Integrates the faults over the sub-step [now, now + h] (after the thermal step). */
  integrate(now: number, h: number, temperatures: number[]): void {
    for (const a of this.active) {
      if (!a.hooks.integrate) continue;
      const t = this.elapsed(a, now) + h; // at the end of the sub-step
      if (t > 0) a.hooks.integrate(t, Math.min(h, t), temperatures, this.pack);
    }
  }

  /** The cell voltages and sensor readings the BMS measures at `now`, changed in place. */
  measure(now: number, voltages: number[], readings: number[], previousReadings: readonly number[]): void {
    for (const a of this.active) {
      const t = this.elapsed(a, now);
      if (t < 0) continue;
      a.hooks.cellVoltages?.(t, voltages, this.pack);
      a.hooks.sensorReadings?.(t, readings, previousReadings);
    }
  }

  /** How the device's link behaves at `now`. */
  link(now: number): LinkCondition {
    let worst: LinkCondition = { kind: "ok" };
    for (const a of this.active) {
      if (!a.hooks.link) continue;
      const t = this.elapsed(a, now);
      if (t < 0) continue;
      const link = a.hooks.link(t);
      if (link && LINK_SEVERITY[link.kind] > LINK_SEVERITY[worst.kind]) worst = link;
    }
    return worst;
  }

  /** Simulated seconds the fault has been acting (negative before its start). */
  private elapsed(a: Active, now: number): number {
    return now - a.injectedAt - (a.fault.startAfterS ?? 0);
  }
}
