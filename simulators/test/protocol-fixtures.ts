import type { PackModelOptions } from "../src/pack-model";
import { PackModel } from "../src/pack-model";
import { deriveSeed, SeededRandom } from "../src/seeded-random";
import type { LinkCondition, PackIdentity, SimulatedDevice } from "../src/simulated-device";

/** A real PackModel behind the device seam, with a link the test sets; time moves only when the test steps it. */
export class TestDevice implements SimulatedDevice {
  readonly model: PackModel;
  readonly identity: PackIdentity;
  linkCondition: LinkCondition = { kind: "ok" };
  private readonly random: SeededRandom;

  constructor(
    readonly unitId: number,
    options: PackModelOptions = {},
  ) {
    this.model = new PackModel({ seed: deriveSeed(7, unitId), ...options });
    this.random = new SeededRandom(deriveSeed(99, unitId));
    const cellCount = this.model.snapshot().cellVoltages.length;
    this.identity = {
      unitId,
      manufacturer: "TestBMS",
      model: "T1",
      firmware: "1.0.0",
      serial: `T${unitId}`,
      warrantyDays: 12_000,
      capacityAh: this.model.capacityAh,
      cellCount,
    };
  }

  snapshot() {
    return this.model.snapshot();
  }

  link(): LinkCondition {
    return this.linkCondition;
  }

  linkRandom(): number {
    return this.random.next();
  }

  resetAlarms(): void {
    this.model.requestAlarmReset();
  }

  history() {
    const record = this.model.bmsRecord();
    return { total: record.total, events: record.events.map((e) => ({ ...e, at: 1_750_000_000_000 + e.atSeconds * 1000 })), counters: record.counters };
  }
}
