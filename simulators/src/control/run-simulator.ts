import { join } from "node:path";
import { ConfigError, createLogger, packageDir, parseConfig } from "@bms/shared";
import type { Fault, ResolvedFault } from "../faults";
import { buildFleet, type RunningFleet, serveFleet } from "../fleet/fleet";
import type { PackSnapshot } from "../pack-model";
import { loadDeviceProfile } from "../protocols/device-profile-file";
import { startModbusRtuServer } from "../protocols/modbus-rtu-server";
import { startModbusTcpServer } from "../protocols/modbus-tcp-server";
import { startSlcanAdapter } from "../protocols/slcan-adapter";
import { ReplayPlayer } from "../replay/replay-player";
import { readRecording } from "../replay/replay-recording";
import { loadScenario, parseScenario, type Scenario } from "../scenario/scenario-file";
import { hashScenario } from "../scenario/scenario-recorder";
import { ScenarioRunner, type ScenarioStatus, UnknownPackError } from "../scenario/scenario-runner";
import { type SimulatorCliInput, type SimulatorCliOptions, SimulatorCliOptionsSchema } from "../simulator-options";
import { type RunningControlServer, startControlServer } from "./control-server";
import { DeviceSlot, SimulatorRuntime } from "./simulator-runtime";

/** The vendor profile `--protocol vendor` serves when `--profile` is not given. */
export const DEFAULT_VENDOR_PROFILE = join(packageDir("@bms/simulators"), "profiles", "vendor-example.yaml");

/**
 * A running simulator: one scenario or replay, served on one protocol, with its runtime (to inject
 * faults, start another scenario) and the control interface when asked for. close() stops all of it.
 */
export interface RunningSimulator {
  runtime: SimulatorRuntime;
  host: string;
  /** Modbus TCP port (sunspec/vendor), the real one when 0 was asked for. */
  port?: number;
  controlPort?: number;
  packCount: number;
  /** What the pack at `unitId` reports now; throws UnknownPackError. */
  snapshot(unitId: number): PackSnapshot;
  /** Adds a fault to the pack at `unitId` now; throws InvalidFaultError, UnknownPackError or NotInjectableError. */
  injectFault(unitId: number, fault: Fault): ResolvedFault;
  /** Removes the pack's faults; latched alarms stay until resetAlarms() or a Modbus AlmRst write. */
  clearFaults(unitId: number): void;
  /** Same as writing 1 to AlmRst: each latched alarm clears once its condition has gone. */
  resetAlarms(unitId: number): void;
  close(): Promise<void>;
}

/** What `--fast` prints. */
export interface FastRunSummary {
  scenario: string;
  seed: number;
  durationS: number;
  intervalS: number;
  /** sha256 of the recorded register/frame stream: equal for equal runs. */
  sha256: string;
  expects: Scenario["expects"];
  final: ScenarioStatus;
}

/** The scenario the flags ask for: `--packs`, `--cells` and `--seed` override the file's. */
export function scenarioFromFlags(options: SimulatorCliOptions): Scenario {
  const scenario = loadScenario(options.scenario);
  if (options.packs === undefined && options.cellsPerPack === undefined && options.seed === undefined) return scenario;
  return parseScenario(
    {
      ...scenario,
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      ...(options.packs === undefined ? {} : { packs: options.packs }),
      ...(options.cellsPerPack === undefined ? {} : { packDefaults: { ...scenario.packDefaults, cellCount: options.cellsPerPack } }),
    },
    `${options.scenario} with the command line's --packs/--cells/--seed`,
  );
}

/** `--fast`: the whole scenario as fast as possible; the summary and the hash of its output. */
export function runFast(scenario: Scenario): FastRunSummary {
  const runner = new ScenarioRunner(scenario);
  runner.runToEnd();
  return {
    scenario: scenario.name,
    seed: scenario.seed,
    durationS: scenario.durationS,
    intervalS: scenario.intervalS,
    sha256: hashScenario(scenario),
    expects: scenario.expects,
    final: runner.status(),
  };
}

/** `--fleet SITESxPACKS`: N sites of M packs, one Modbus TCP port per site, in real time. */
export async function startFleet(options: SimulatorCliOptions): Promise<RunningFleet> {
  const [sites = 1, packsPerSite = 1] = (options.fleet ?? "1x1").split("x").map(Number);
  const fleet = buildFleet({ sites, packsPerSite, faultyFraction: options.faulty, seed: options.seed ?? 1 });
  return serveFleet(fleet, { host: options.host, basePort: options.port, timeScale: options.timeScale });
}

/**
 * Starts what the options describe (`npm run sim` without `--fleet`): a scenario or a replay on one
 * protocol, plus the control interface. Bad options are a ConfigError naming each problem.
 */
export async function startSimulator(
  input: SimulatorCliInput,
  /** The setting a port in use is blamed on (the stack's SIM_MODBUS_PORT). @default "--port" */
  { portSetting = "--port" }: { portSetting?: string } = {},
): Promise<RunningSimulator> {
  const options = parseConfig(SimulatorCliOptionsSchema, input, "simulator options");
  if (options.fleet !== undefined) throw new ConfigError("simulator options", ["fleet: a fleet is started with startFleet, not startSimulator"]);
  const log = createLogger("simulator");
  let runtime: SimulatorRuntime;
  let describe: Record<string, unknown>;
  if (options.replay !== undefined) {
    const player = new ReplayPlayer(readRecording(options.replay), {
      end: options.loop ? "loop" : "hold",
      ...(options.seed === undefined ? {} : { seed: options.seed }),
    });
    runtime = new SimulatorRuntime({ kind: "replay", player }, options.speed);
    describe = { replay: options.replay, speed: options.speed, loop: options.loop, durationS: player.durationS };
  } else {
    const scenario = scenarioFromFlags(options);
    runtime = new SimulatorRuntime({ kind: "scenario", runner: new ScenarioRunner(scenario) }, options.timeScale);
    describe = { scenario: scenario.name, seed: scenario.seed, timeScale: options.timeScale, expects: scenario.expects };
  }

  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    runtime.stop();
    for (const closer of closers.reverse()) await closer();
  };
  try {
    let port: number | undefined;
    const packs = runtime.devices.length;
    switch (options.protocol) {
      case "sunspec":
      case "vendor": {
        const map = options.protocol === "sunspec" ? "sunspec" : loadDeviceProfile(options.profile ?? DEFAULT_VENDOR_PROFILE);
        const server = await startModbusTcpServer({
          host: options.host,
          port: options.port,
          devices: runtime.devices,
          map,
          portSetting,
        });
        closers.push(() => server.close());
        port = server.port;
        const what = options.protocol === "sunspec" ? "SunSpec simulator listening" : "vendor-profile simulator listening";
        log.info({ host: options.host, port, packs, ...describe }, what);
        break;
      }
      case "rtu": {
        const server = await startModbusRtuServer({ path: options.device ?? "", devices: runtime.devices });
        closers.push(() => server.close());
        log.info({ device: options.device, packs, ...describe }, "Modbus RTU simulator listening");
        break;
      }
      case "can": {
        // One Pylontech BMS per CAN bus: the adapter speaks for unit 1.
        const adapter = await startSlcanAdapter({ path: options.device ?? "", device: new DeviceSlot(1, (unit) => runtime.deviceAt(unit)) });
        closers.push(() => adapter.close());
        log.info({ device: options.device, packs: 1, ...describe }, "SLCAN CAN simulator listening");
        break;
      }
    }
    let control: RunningControlServer | undefined;
    if (options.controlPort !== undefined) {
      control = await startControlServer(runtime, {
        host: "127.0.0.1",
        port: options.controlPort,
        ...(options.controlToken ? { token: options.controlToken } : {}),
      });
      closers.push(() => control?.close() ?? Promise.resolve());
    }
    runtime.start();
    const snapshot = (unitId: number) => {
      const device = runtime.deviceAt(unitId);
      if (!device)
        throw new UnknownPackError(
          unitId,
          runtime.devices.map((d) => d.unitId),
        );
      return device.snapshot();
    };
    return {
      runtime,
      host: options.host,
      ...(port === undefined ? {} : { port }),
      ...(control ? { controlPort: control.port } : {}),
      packCount: runtime.devices.length,
      snapshot,
      injectFault: (unitId, fault) => runtime.injectFault(unitId, fault),
      clearFaults: (unitId) => runtime.clearFaults(unitId),
      resetAlarms: (unitId) => runtime.resetAlarms(unitId),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
