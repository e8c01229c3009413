import { Server } from "node:net";
import { createLogger, isAddressInUse, PortInUseError, parseConfig } from "@bms/shared";
import { MODEL_BATTERY } from "@bms/shared/sunspec/models";
import { type IServiceVector, ServerTCP } from "modbus-serial";
import type { Fault } from "./faults";
import { MODBUS_EXCEPTION, ModbusException } from "./modbus-exception";
import { guardModbusRequests } from "./modbus-request-guard";
import { PackModel, type PackSnapshot } from "./pack-model";
import { deriveSeed } from "./seeded-random";
import { type SimulatorOptions, SimulatorOptionsSchema } from "./simulator-options";
import { encodePackRegisters, type PackIdentity, type SunSpecLayout, sunspecLayout } from "./sunspec-register-map";

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
/** A longer gap (a suspended machine, a debugger) is not replayed as hours of simulated time. */
const MAX_TICK_GAP_MS = 5000;
/** Simulated seconds after start at which the over-temperature scenario injects its fault. */
const SCENARIO_FAULT_AFTER_S = 2;
const WARRANTY_EPOCH_MS = Date.UTC(2000, 0, 1);
const MS_PER_DAY = 86_400_000;

class SimulatedPack {
  readonly model: PackModel;
  readonly identity: PackIdentity;
  registers: number[];

  constructor(
    unitId: number,
    seed: number,
    cellCount: number,
    private readonly layout: SunSpecLayout,
  ) {
    const packSeed = deriveSeed(seed, unitId);
    this.model = new PackModel({ seed: packSeed, cellCount });
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
    this.registers = this.encode();
  }

  refresh(): void {
    this.registers = this.encode();
  }

  private encode(): number[] {
    return encodePackRegisters(this.layout, this.identity, this.model.snapshot());
  }
}

/** ServerTCP keeps its net.Server private; it is the only way to learn the port when 0 was asked for. */
function netServerOf(server: ServerTCP): Server {
  const inner: unknown = Reflect.get(server, "_server");
  if (!(inner instanceof Server)) throw new Error("modbus-serial's ServerTCP no longer has a _server net.Server: update sunspec-simulator.ts");
  return inner;
}

function listen(server: ServerTCP, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: unknown) => {
      server.removeListener("initialized", onReady);
      reject(isAddressInUse(err) ? new PortInUseError(port, "--port") : err);
    };
    const onReady = () => {
      server.removeListener("serverError", onError);
      resolve();
    };
    server.once("serverError", onError);
    server.once("initialized", onReady);
  });
}

/**
 * Starts a simulated site: `packs` LFP packs laid out as SunSpec (models 1, 802, 805) at 40000,
 * pack N at Modbus unit ID N, advancing in real time × `timeScale`.
 */
export async function startSunSpecSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const opts = parseConfig(SimulatorOptionsSchema, options, "simulator options");
  const log = createLogger("simulator");
  const layout = sunspecLayout(opts.cellsPerPack);
  const packs = Array.from({ length: opts.packs }, (_, i) => new SimulatedPack(i + 1, opts.seed, opts.cellsPerPack, layout));

  const packAt = (unitId: number): SimulatedPack => {
    const pack = Number.isInteger(unitId) ? packs[unitId - 1] : undefined;
    if (!pack) throw new UnknownUnitError(unitId, packs.length);
    return pack;
  };
  /** Same as packAt, but as the Modbus answer a gateway gives for a device it cannot reach. */
  const modbusPackAt = (unitId: number): SimulatedPack => {
    const pack = packs[unitId - 1];
    if (unitId < 1 || !pack) throw new ModbusException(MODBUS_EXCEPTION.GATEWAY_TARGET_FAILED, `no pack at unit ID ${unitId}`);
    return pack;
  };

  const read = (addr: number, length: number, unitId: number): number[] => {
    const pack = modbusPackAt(unitId);
    if (length < 1 || length > 125) throw new ModbusException(MODBUS_EXCEPTION.ILLEGAL_DATA_VALUE, `cannot read ${length} registers`);
    const start = addr - layout.base;
    if (start < 0 || start + length > pack.registers.length) {
      throw new ModbusException(MODBUS_EXCEPTION.ILLEGAL_DATA_ADDRESS, `registers ${addr}–${addr + length - 1} are outside the map`);
    }
    return pack.registers.slice(start, start + length);
  };
  const almRstAddress = layout.battery + MODEL_BATTERY.points.AlmRst.offset;
  const write = (addr: number, values: readonly number[], unitId: number): void => {
    const pack = modbusPackAt(unitId);
    if (addr !== almRstAddress || values.length !== 1) {
      throw new ModbusException(MODBUS_EXCEPTION.ILLEGAL_DATA_ADDRESS, `register ${addr} is read-only (only AlmRst at ${almRstAddress} is writable)`);
    }
    if (values[0] !== 1) throw new ModbusException(MODBUS_EXCEPTION.ILLEGAL_DATA_VALUE, "AlmRst accepts only 1");
    pack.model.requestAlarmReset();
    pack.refresh();
    log.info({ unitId }, "alarm reset requested over Modbus");
  };
  const firstOf = (values: number[]): number => values[0] ?? 0;
  const vector: IServiceVector = {
    getHoldingRegister: (addr: number, unitId: number) => firstOf(read(addr, 1, unitId)),
    getInputRegister: (addr: number, unitId: number) => firstOf(read(addr, 1, unitId)),
    getMultipleHoldingRegisters: (addr: number, length: number, unitId: number) => read(addr, length, unitId),
    getMultipleInputRegisters: (addr: number, length: number, unitId: number) => read(addr, length, unitId),
    setRegister: (addr: number, value: number, unitId: number) => write(addr, [value], unitId),
    setRegisterArray: (addr: number, values: number[], unitId: number) => write(addr, values, unitId),
  };

  // unitID 255: answer every unit ID and pass it to the vector, which routes it to a pack.
  const server = new ServerTCP(vector, { host: opts.host, port: opts.port, unitID: 255 });
  const netServer = netServerOf(server);
  guardModbusRequests(netServer);
  server.on("socketError", (err: unknown) => log.debug({ err }, "client socket error"));
  server.on("error", (err: unknown) => log.warn({ err }, "modbus server error"));
  await listen(server, opts.port);
  const address = netServer.address();
  const port = typeof address === "object" && address ? address.port : opts.port;

  let scenarioDone = opts.scenario === "healthy";
  let last = performance.now();
  const tick = () => {
    const now = performance.now();
    const dt = (Math.min(now - last, MAX_TICK_GAP_MS) / 1000) * opts.timeScale;
    last = now;
    try {
      for (const pack of packs) {
        pack.model.step(dt);
        pack.refresh();
      }
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
      pack.refresh();
      log.info({ unitId, fault: resolved }, "fault injected");
    },
    clearFaults(unitId) {
      const pack = packAt(unitId);
      pack.model.clearFaults();
      pack.refresh();
      log.info({ unitId }, "faults cleared");
    },
    resetAlarms(unitId) {
      const pack = packAt(unitId);
      pack.model.requestAlarmReset();
      pack.refresh();
    },
    snapshot: (unitId) => packAt(unitId).model.snapshot(),
    close() {
      closing ??= new Promise<void>((resolve) => {
        clearInterval(timer);
        server.close(() => resolve());
      });
      return closing;
    },
  };
}
