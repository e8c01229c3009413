import { createLogger, parseConfig } from "@bms/shared";
import type { Fault } from "./faults";
import { PackModel, type PackSnapshot } from "./pack-model";
import { startModbusTcpServer } from "./protocols/modbus-tcp-server";
import { deriveSeed, SeededRandom } from "./seeded-random";
import type { LinkCondition, PackIdentity, SimulatedDevice } from "./simulated-device";
import { type SimulatorOptions, SimulatorOptionsSchema } from "./simulator-options";

export interface RunningSimulator {
  /** The port it listens on (the real one when 0 was asked for). */
  port: number;
  host: string;
  packCount: number;
  /** Adds a fault to the pack at `unitId`; throws InvalidFaultError or UnknownUnitError. */
  injectFault(unitId: number, fault: Fault): void;
  /** Removes the pack's faults; its latched alarms stay until resetAlarms() or a Modbus AlmRst write. */
  clearFaults(unitId: number): void;
  /** Same as writing 1 to AlmRst: each latched alarm clears once its condition has gone. */
  resetAlarms(unitId: number): void;
  /** current true state of a pack, for tests */
  snapshot(unitId: number): PackSnapshot;
  close(): Promise<void>;
}

/** A unit ID that has no pack behind it. */
export class UnknownUnitError extends RangeError {
  override readonly name = "UnknownUnitError";
  constructor(
    readonly unitId: number,
    packCount: number,
  ) {
    super(`no pack at unit ID ${unitId}: this simulator serves unit IDs 1–${packCount}`);
  }
}

/** How often the model advances, in real milliseconds. */
const TICK_MS = 100;
/** Simulated seconds per model step in real-time mode. */
const STEP_S = 0.1;
/** A longer gap (a suspended machine, a debugger) is not replayed as hours of simulated time. */
const MAX_TICK_GAP_MS = 5000;
/** Simulated seconds after start at which the over-temperature scenario injects its fault. */
const SCENARIO_FAULT_AFTER_S = 2;
const WARRANTY_EPOCH_MS = Date.UTC(2000, 0, 1);
const MS_PER_DAY = 86_400_000;
/** Stream number of a pack's link-fault draws (derived from its seed, apart from its physics). */
const LINK_STREAM = 0x4c4e4b;

/** A PackModel as a SimulatedDevice: the identity and link the SunSpec simulator gives its packs. */
class SimulatedPack implements SimulatedDevice {
  readonly model: PackModel;
  readonly identity: PackIdentity;
  private readonly linkStream: SeededRandom;

  constructor(
    readonly unitId: number,
    seed: number,
    cellCount: number,
  ) {
    const packSeed = deriveSeed(seed, unitId);
    this.model = new PackModel({ seed: packSeed, cellCount });
    this.linkStream = new SeededRandom(deriveSeed(packSeed, LINK_STREAM));
    // Warranty: ten years from a commissioning date in 2022–2024 drawn from the pack's seed.
    const warrantyEnd = Date.UTC(2032 + (packSeed % 3), packSeed % 12, 1 + (packSeed % 28));
    this.identity = {
      unitId,
      manufacturer: "SimBattery",
      model: `SIM-LFP-${cellCount}S-${this.model.capacityAh}`,
      firmware: "1.4.2",
      serial: `SIM${packSeed.toString(16).toUpperCase().padStart(8, "0")}-${String(unitId).padStart(3, "0")}`,
      warrantyDays: Math.round((warrantyEnd - WARRANTY_EPOCH_MS) / MS_PER_DAY),
      capacityAh: this.model.capacityAh,
      cellCount,
    };
  }

  snapshot(): PackSnapshot {
    return this.model.snapshot();
  }

  link(): LinkCondition {
    return { kind: "ok" };
  }

  linkRandom(): number {
    return this.linkStream.next();
  }

  resetAlarms(): void {
    this.model.requestAlarmReset();
  }
}

export async function startSunSpecSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const opts = parseConfig(SimulatorOptionsSchema, options, "simulator options");
  const log = createLogger("simulator");
  const packs = Array.from({ length: opts.packs }, (_, i) => new SimulatedPack(i + 1, opts.seed, opts.cellsPerPack));

  const packAt = (unitId: number): SimulatedPack => {
    const pack = Number.isInteger(unitId) ? packs[unitId - 1] : undefined;
    if (!pack) throw new UnknownUnitError(unitId, packs.length);
    return pack;
  };

  const server = await startModbusTcpServer({ host: opts.host, port: opts.port, devices: packs, map: "sunspec" });
  const port = server.port;

  let scenarioDone = opts.scenario === "healthy";
  let last = performance.now();
  let owedSeconds = 0;
  const tick = () => {
    const now = performance.now();
    owedSeconds += (Math.min(now - last, MAX_TICK_GAP_MS) / 1000) * opts.timeScale;
    last = now;
    // Whole quanta only, so the packs pass through the same states whatever the timer's jitter.
    const quanta = Math.floor(owedSeconds / STEP_S + 1e-9);
    owedSeconds -= quanta * STEP_S;
    try {
      for (let q = 0; q < quanta; q++) for (const pack of packs) pack.model.step(STEP_S);
      const first = packs[0];
      if (!scenarioDone && first && first.model.snapshot().simulatedSeconds >= SCENARIO_FAULT_AFTER_S) {
        scenarioDone = true;
        first.model.injectFault({ kind: "over-temperature" });
        log.info({ unitId: 1 }, "scenario over-temperature: fault injected");
      }
    } catch (err) {
      log.error({ err }, "simulation step failed");
    }
  };
  const timer = setInterval(tick, TICK_MS);
  timer.unref();

  log.info(
    { host: opts.host, port, packs: opts.packs, cellsPerPack: opts.cellsPerPack, seed: opts.seed, scenario: opts.scenario, timeScale: opts.timeScale },
    "SunSpec simulator listening",
  );

  let closing: Promise<void> | undefined;
  return {
    port,
    host: opts.host,
    packCount: packs.length,
    injectFault(unitId, fault) {
      const pack = packAt(unitId);
      const resolved = pack.model.injectFault(fault);
      log.info({ unitId, fault: resolved }, "fault injected");
    },
    clearFaults(unitId) {
      const pack = packAt(unitId);
      pack.model.clearFaults();
      log.info({ unitId }, "faults cleared");
    },
    resetAlarms(unitId) {
      const pack = packAt(unitId);
      pack.model.requestAlarmReset();
    },
    snapshot: (unitId) => packAt(unitId).model.snapshot(),
    close() {
      closing ??= new Promise<void>((resolve) => {
        clearInterval(timer);
        resolve(server.close());
      });
      return closing;
    },
  };
}
