import { createLogger } from "@bms/shared";
import type { Fault, ResolvedFault } from "../faults";
import type { PackSnapshot } from "../pack-model";
import type { ReplayPlayer } from "../replay/replay-player";
import { driveInRealTime, type RealTimeDriver } from "../scenario/real-time-driver";
import type { Scenario } from "../scenario/scenario-file";
import { ScenarioRunner, type ScenarioStatus, UnknownPackError } from "../scenario/scenario-runner";
import type { DeviceHistory, LinkCondition, PackIdentity, SimulatedDevice } from "../simulated-device";

/** What a running simulator plays: a scenario (packs with a model) or a recording. */
export type Playing = { kind: "scenario"; runner: ScenarioRunner } | { kind: "replay"; player: ReplayPlayer };

/** A fault request on a replayed pack: recordings cannot take faults. */
export class NotInjectableError extends Error {
  override readonly name = "NotInjectableError";
}

export interface RuntimeStatus {
  mode: "scenario" | "replay";
  /** False after stop(): the clock stands still, the packs keep answering with their last state. */
  running: boolean;
  timeScale: number;
  simulatedSeconds: number;
  scenario?: ScenarioStatus;
  replay?: { source: string; durationS: number; finished: boolean; packs: { unitId: number; siteId?: string; packId?: string }[] };
}

/**
 * The one slot a protocol server that holds a single device (the SLCAN adapter) is given: it
 * forwards to whatever pack now has that unit ID, so a new scenario reaches it too.
 */
export class DeviceSlot implements SimulatedDevice {
  constructor(
    readonly unitId: number,
    private readonly lookup: (unitId: number) => SimulatedDevice | undefined,
  ) {}

  private target(): SimulatedDevice {
    const device = this.lookup(this.unitId);
    if (!device) throw new UnknownPackError(this.unitId, []);
    return device;
  }

  get identity(): PackIdentity {
    return this.target().identity;
  }
  snapshot(): PackSnapshot {
    return this.target().snapshot();
  }
  link(): LinkCondition {
    return this.lookup(this.unitId)?.link() ?? { kind: "silent" };
  }
  linkRandom(): number {
    return this.target().linkRandom();
  }
  resetAlarms(): void {
    this.target().resetAlarms();
  }
  history(): DeviceHistory {
    return this.target().history();
  }
}

/**
 * The simulator as `npm run sim` and the control interface drive it: what plays, its real-time
 * clock, and the list of devices the protocol servers serve. The list is one array, changed in
 * place when a new scenario starts, because the Modbus servers look units up in it per request.
 */
export class SimulatorRuntime {
  /** The array the protocol servers were given. */
  readonly devices: SimulatedDevice[] = [];
  private playing: Playing;
  private driver: RealTimeDriver | undefined;
  private readonly log = createLogger("simulator");

  constructor(
    initial: Playing,
    readonly timeScale: number,
  ) {
    this.playing = initial;
    this.refreshDevices();
  }

  get current(): Playing {
    return this.playing;
  }

  /** Starts (or restarts) the real-time clock. */
  start(): void {
    this.driver?.stop();
    const target = this.playing.kind === "scenario" ? this.playing.runner : this.playing.player;
    this.driver = driveInRealTime(target, { timeScale: this.timeScale, onError: (err) => this.log.error({ err }, "simulation step failed") });
  }

  /** Stops the clock: packs freeze in their last state and keep answering. */
  stop(): void {
    this.driver?.stop();
    this.driver = undefined;
  }

  get running(): boolean {
    return this.driver !== undefined;
  }

  /** Replaces what plays with a fresh run of `scenario` and starts its clock. */
  startScenario(scenario: Scenario): void {
    this.stop();
    this.playing = { kind: "scenario", runner: new ScenarioRunner(scenario) };
    this.refreshDevices();
    this.start();
    this.log.info({ scenario: scenario.name, seed: scenario.seed, packs: this.devices.length }, "scenario started");
  }

  deviceAt(unitId: number): SimulatedDevice | undefined {
    return this.devices.find((device) => device.unitId === unitId);
  }

  injectFault(unitId: number, fault: Fault): ResolvedFault {
    const runner = this.runner();
    const resolved = runner.injectFault(unitId, fault);
    this.log.info({ unitId, fault: resolved }, "fault injected");
    return resolved;
  }

  clearFaults(unitId: number): void {
    this.runner().clearFaults(unitId);
    this.log.info({ unitId }, "faults cleared");
  }

  resetAlarms(unitId: number): void {
    const device = this.deviceAt(unitId);
    if (!device)
      throw new UnknownPackError(
        unitId,
        this.devices.map((d) => d.unitId),
      );
    device.resetAlarms();
  }

  status(): RuntimeStatus {
    const base = { running: this.running, timeScale: this.timeScale };
    if (this.playing.kind === "scenario") {
      const scenario = this.playing.runner.status();
      return { mode: "scenario", ...base, simulatedSeconds: scenario.simulatedSeconds, scenario };
    }
    const { player } = this.playing;
    return {
      mode: "replay",
      ...base,
      simulatedSeconds: player.simulatedSeconds,
      replay: {
        source: player.recording.source,
        durationS: player.durationS,
        finished: player.finished,
        packs: player.devices.map((d) => ({
          unitId: d.unitId,
          ...(d.stream.siteId ? { siteId: d.stream.siteId } : {}),
          ...(d.stream.packId ? { packId: d.stream.packId } : {}),
        })),
      },
    };
  }

  private runner(): ScenarioRunner {
    if (this.playing.kind !== "scenario") throw new NotInjectableError("this simulator replays a recording: faults cannot be injected into recorded packs");
    return this.playing.runner;
  }

  private refreshDevices(): void {
    const next: SimulatedDevice[] = this.playing.kind === "scenario" ? [...this.playing.runner.packs] : [...this.playing.player.devices];
    this.devices.splice(0, this.devices.length, ...next);
  }
}
