import type { Fault, ResolvedFault } from "../faults";
import type { FastForward } from "../pack-model";
import { deriveSeed } from "../seeded-random";
import type { LinkCondition } from "../simulated-device";
import type { Scenario, TimelineEntry } from "./scenario-file";
import { unitIdsOf } from "./scenario-file";
import { ScenarioPack } from "./scenario-pack";

/** A unit ID that has no pack behind it. */
export class UnknownPackError extends RangeError {
  override readonly name = "UnknownPackError";
  constructor(
    readonly unitId: number,
    units: readonly number[],
  ) {
    super(`no pack at unit ID ${unitId}: the scenario has unit IDs ${units.join(", ")}`);
  }
}

/** What GET /status and `--fast` report about one pack. */
export interface PackStatus {
  unitId: number;
  serial: string;
  soc: number;
  current: number;
  packVoltage: number;
  maxCellTemperature: number;
  alarms: string[];
  faults: ResolvedFault[];
  link: LinkCondition["kind"];
}

export interface ScenarioStatus {
  scenario: string;
  seed: number;
  simulatedSeconds: number;
  durationS: number;
  finished: boolean;
  /** Timeline entries applied so far / in all. */
  faultsApplied: number;
  faultsScheduled: number;
  packs: PackStatus[];
}

/**
 * Runs a scenario: one PackModel per pack (seed derived per unit), all stepped together in fixed
 * `stepS` quanta, with the fault timeline applied at step boundaries. advance() carries the
 * fraction of a quantum it could not step to the next call, so any way of cutting the same total
 * time (fast mode, a real-time timer) steps the packs through the same states.
 */
export class ScenarioRunner {
  readonly packs: readonly ScenarioPack[];
  private readonly timeline: readonly TimelineEntry[];
  private nextEntry = 0;
  private steps = 0;
  private owedSeconds = 0;

  constructor(readonly scenario: Scenario) {
    const units = unitIdsOf(scenario);
    const listed = typeof scenario.packs === "number" ? [] : scenario.packs;
    this.packs = units.map((unitId, i) => {
      const { unitId: _unit, ...own } = listed[i] ?? {};
      const options = { ...scenario.packDefaults, ...own };
      const seed = options.seed ?? deriveSeed(scenario.seed, unitId);
      return new ScenarioPack(unitId, { ...options, seed });
    });
    // Stable sort: entries at the same time apply in file order.
    this.timeline = scenario.faults
      .map((entry, i) => ({ entry, i }))
      .sort((a, b) => a.entry.atS - b.entry.atS || a.i - b.i)
      .map(({ entry }) => entry);
    this.applyDue();
  }

  get simulatedSeconds(): number {
    return this.steps * this.scenario.stepS;
  }

  /** True once the scenario's duration has run (real-time mode keeps stepping after it). */
  get finished(): boolean {
    return this.simulatedSeconds >= this.scenario.durationS - 1e-9;
  }

  pack(unitId: number): ScenarioPack {
    const pack = this.packs.find((p) => p.unitId === unitId);
    if (!pack)
      throw new UnknownPackError(
        unitId,
        this.packs.map((p) => p.unitId),
      );
    return pack;
  }

  /** Advances every pack by `seconds` of simulated time, in whole steps (the remainder waits for the next call). */
  advance(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError(`advance needs a finite, non-negative number of seconds, got ${seconds}`);
    this.owedSeconds += seconds;
    const quanta = Math.floor(this.owedSeconds / this.scenario.stepS + 1e-9);
    this.owedSeconds = Math.max(0, this.owedSeconds - quanta * this.scenario.stepS);
    for (let q = 0; q < quanta; q++) this.stepOnce();
  }

  /**
   * Jumps the simulated clock by `ff.days` (rounded to whole steps) and ages every pack as if it had
   * made `ff.equivalentCycles` full cycles meanwhile, without stepping the physics: 500 cycles of
   * ageing in an instant, between stretches that are stepped (and sampled) as usual. Faults due in
   * the jump are injected at its end.
   */
  fastForward(ff: FastForward): void {
    const steps = Math.round((ff.days * 86_400) / this.scenario.stepS);
    const days = (steps * this.scenario.stepS) / 86_400;
    for (const pack of this.packs) pack.fastForward({ ...ff, days });
    this.steps += steps;
    this.applyDue();
  }

  /** Runs to the scenario's end (fast mode). */
  runToEnd(): void {
    while (!this.finished) this.stepOnce();
  }

  injectFault(unitId: number, fault: Fault): ResolvedFault {
    return this.pack(unitId).injectFault(fault);
  }

  clearFaults(unitId: number): void {
    this.pack(unitId).clearFaults();
  }

  resetAlarms(unitId: number): void {
    this.pack(unitId).resetAlarms();
  }

  status(): ScenarioStatus {
    return {
      scenario: this.scenario.name,
      seed: this.scenario.seed,
      simulatedSeconds: this.simulatedSeconds,
      durationS: this.scenario.durationS,
      finished: this.finished,
      faultsApplied: this.nextEntry,
      faultsScheduled: this.timeline.length,
      packs: this.packs.map((pack) => {
        const snapshot = pack.snapshot();
        return {
          unitId: pack.unitId,
          serial: pack.identity.serial,
          soc: round(snapshot.soc, 2),
          current: round(snapshot.current, 2),
          packVoltage: round(snapshot.packVoltage, 3),
          maxCellTemperature: round(Math.max(...snapshot.cellTemperatures), 2),
          alarms: [...snapshot.alarms],
          faults: snapshot.faults,
          link: pack.link().kind,
        };
      }),
    };
  }

  private stepOnce(): void {
    this.applyDue();
    for (const pack of this.packs) pack.step(this.scenario.stepS);
    this.steps++;
    this.applyDue();
  }

  /** Injects every timeline entry whose time has come. */
  private applyDue(): void {
    const now = this.simulatedSeconds;
    for (let entry = this.timeline[this.nextEntry]; entry && entry.atS <= now + 1e-9; entry = this.timeline[this.nextEntry]) {
      this.pack(entry.pack).injectFault(entry.fault);
      this.nextEntry++;
    }
  }
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
