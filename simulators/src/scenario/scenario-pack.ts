import type { Fault, ResolvedFault } from "../faults";
import { type FastForward, PackModel, type PackModelOptions, type PackSnapshot } from "../pack-model";
import type { DeviceHistory, LinkCondition, PackIdentity, SimulatedDevice } from "../simulated-device";
import { packIdentity } from "./pack-identity";

/** One simulated pack of a scenario: a PackModel stepped by the runner, served as a SimulatedDevice. */
export class ScenarioPack implements SimulatedDevice {
  readonly model: PackModel;
  readonly identity: PackIdentity;
  /** The BMS's clock at simulated time 0, ms since the epoch: its event log's times count from it. */
  readonly clockOriginMs: number;

  constructor(
    readonly unitId: number,
    readonly options: PackModelOptions & { seed: number },
    clockOriginMs = Date.now(),
  ) {
    this.clockOriginMs = clockOriginMs;
    this.model = new PackModel(options);
    this.identity = packIdentity(unitId, options.seed, this.model.cellCount, this.model.capacityAh, this.model.chemistry);
  }

  step(dtSeconds: number): void {
    this.model.step(dtSeconds);
  }

  /** Jumps the pack's clock and ages its cells (PackModel.fastForward). */
  fastForward(ff: FastForward): void {
    this.model.fastForward(ff);
  }

  snapshot(): PackSnapshot {
    return this.model.snapshot();
  }

  /** communication-loss and garbled-link faults set it (the model keeps their windows in simulated time). */
  link(): LinkCondition {
    return this.model.link();
  }

  linkRandom(): number {
    return this.model.linkRandom();
  }

  resetAlarms(): void {
    this.model.resetAlarms();
  }

  history(): DeviceHistory {
    const record = this.model.bmsRecord();
    return {
      total: record.total,
      events: record.events.map((e) => ({ n: e.n, code: e.code, at: Math.round(this.clockOriginMs + e.atSeconds * 1000), value: e.value })),
      counters: record.counters,
    };
  }

  /** Adds a fault now; throws InvalidFaultError for a malformed one or a cell the pack lacks. */
  injectFault(fault: Fault): ResolvedFault {
    return this.model.injectFault(fault);
  }

  /** Removes every fault; latched alarms stay until resetAlarms(). */
  clearFaults(): void {
    this.model.clearFaults();
  }
}
