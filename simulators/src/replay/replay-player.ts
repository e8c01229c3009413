import { alarmsToEvt1, evt1ToAlarms } from "@bms/shared";
import { BATTERY_STATE, CHARGE_STATUS } from "@bms/shared/sunspec/models";
import { CHEMISTRY } from "../model/chemistry";
import type { PackSnapshot } from "../pack-model";
import { packIdentity } from "../scenario/pack-identity";
import { deriveSeed, SeededRandom } from "../seeded-random";
import type { DeviceHistory, LinkCondition, PackIdentity, SimulatedDevice } from "../simulated-device";
import type { RecordedSample, ReplayRecording, ReplayStream } from "./replay-recording";

export interface ReplayOptions {
  /** After the last sample: `hold` its values, or `loop` from the start. @default "hold" */
  end?: "hold" | "loop";
  /** Rated capacity the registers publish (a recording does not say), Ah. @default 100 */
  capacityAh?: number;
  /** Seed of the identities' serial numbers and the link stream. @default 1 */
  seed?: number;
}

/** The recorded values as a snapshot; what a recording does not hold is derived or left neutral. */
function snapshotOf(sample: RecordedSample, simulatedSeconds: number, capacityAh: number): PackSnapshot {
  const cells = sample.cellVoltages.length;
  const lfp = CHEMISTRY.LFP;
  const alarms = evt1ToAlarms(alarmsToEvt1(sample.bmsAlarms ?? []));
  const tripped = alarms.some((code) => code.endsWith("_ALARM") || code === "GROUND_FAULT");
  return {
    simulatedSeconds,
    chemistry: "LFP",
    topology: { strings: 1, modulesPerString: 1, cellsPerModule: cells },
    ratings: {
      chemistry: "LFP",
      nominalCellV: lfp.nominalCellV,
      cellVMax: lfp.overVoltAlarmV,
      cellVMin: lfp.underVoltAlarmV,
      chargeC: lfp.chargeC,
      dischargeC: lfp.dischargeC,
      capacityAh,
      cellsInSeries: cells,
    },
    soc: sample.soc,
    trueSoc: sample.soc,
    soh: sample.soh ?? 100,
    trueSoh: sample.soh ?? 100,
    remainingCapacityAh: sample.remainingCapacity ?? (capacityAh * sample.soc) / 100,
    current: sample.current,
    stringCurrents: [sample.current],
    packVoltage: sample.packVoltage,
    cellVoltages: [...sample.cellVoltages],
    // The registers need one reading per cell: a recording with fewer sensors repeats its last one.
    cellTemperatures: sample.cellVoltages.map((_, i) => sample.cellTemperatures[Math.min(i, sample.cellTemperatures.length - 1)] ?? 25),
    cellSocs: sample.cellVoltages.map(() => sample.soc),
    cellCapacitiesAh: sample.cellVoltages.map(() => capacityAh),
    balancing: sample.cellVoltages.map(() => false),
    alarms,
    evt1: alarmsToEvt1(alarms),
    trips: [],
    contactorClosed: !tripped,
    cycles: sample.cycleCount ?? 0,
    chargeStatus: sample.current > 0.5 ? CHARGE_STATUS.CHARGING : sample.current < -0.5 ? CHARGE_STATUS.DISCHARGING : CHARGE_STATUS.HOLDING,
    state: tripped ? BATTERY_STATE.FAULT : BATTERY_STATE.CONNECTED,
    chargeCurrentLimit: sample.chargeCurrentLimit ?? capacityAh * lfp.chargeC,
    dischargeCurrentLimit: sample.dischargeCurrentLimit ?? capacityAh * lfp.dischargeC,
    chargeVoltageLimit: sample.chargeVoltageLimit ?? lfp.chargeStopV * cells,
    dischargeVoltageLimit: sample.dischargeVoltageLimit ?? lfp.dischargeLimitV * cells,
    ...(sample.insulationResistance === undefined ? {} : { insulationResistanceKOhm: sample.insulationResistance }),
    faults: [],
  };
}

/** One recorded pack as a SimulatedDevice: snapshot() is the last sample at or before the player's time. */
export class ReplayDevice implements SimulatedDevice {
  readonly identity: PackIdentity;
  private readonly link_: SeededRandom;

  constructor(
    readonly unitId: number,
    readonly stream: ReplayStream,
    private readonly player: ReplayPlayer,
    private readonly capacityAh: number,
    seed: number,
  ) {
    const first = stream.samples[0];
    const packSeed = deriveSeed(seed, unitId);
    this.identity = packIdentity(unitId, packSeed, first?.cellVoltages.length ?? 1, capacityAh);
    this.link_ = new SeededRandom(deriveSeed(packSeed, 2));
  }

  /** The sample playing now. */
  current(): RecordedSample {
    return this.player.sampleAt(this.stream);
  }

  snapshot(): PackSnapshot {
    return snapshotOf(this.current(), this.player.simulatedSeconds, this.capacityAh);
  }

  link(): LinkCondition {
    return { kind: "ok" };
  }

  linkRandom(): number {
    return this.link_.next();
  }

  /** A recording's alarms are what was recorded: a reset changes nothing. */
  resetAlarms(): void {}

  /** A recording holds samples only: no BMS log, no counters. */
  history(): DeviceHistory {
    return { total: 0, events: [], counters: {} };
  }
}

/**
 * Plays a recording by recording time: at playback time t every device shows the last sample of its
 * stream with ts ≤ startTs + t (its first sample before that). advance() moves t; a real-time
 * driver with timeScale = speed plays it at real or accelerated speed.
 */
export class ReplayPlayer {
  readonly devices: readonly ReplayDevice[];
  readonly durationS: number;
  private seconds = 0;
  private readonly end: "hold" | "loop";

  constructor(
    readonly recording: ReplayRecording,
    options: ReplayOptions = {},
  ) {
    this.end = options.end ?? "hold";
    const lastTs = Math.max(...recording.streams.map((s) => s.samples[s.samples.length - 1]?.ts ?? recording.startTs));
    this.durationS = (lastTs - recording.startTs) / 1000;
    this.devices = recording.streams.map((stream, i) => new ReplayDevice(i + 1, stream, this, options.capacityAh ?? 100, options.seed ?? 1));
  }

  get simulatedSeconds(): number {
    return this.seconds;
  }

  /** True once playback has passed the last sample (never, when looping). */
  get finished(): boolean {
    return this.end === "hold" && this.seconds >= this.durationS;
  }

  advance(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError(`advance needs a finite, non-negative number of seconds, got ${seconds}`);
    this.seconds += seconds;
  }

  /** Recording time (ms after startTs) playing now, wrapped when looping. */
  playbackMs(): number {
    const ms = this.seconds * 1000;
    if (this.end === "loop" && this.durationS > 0) {
      // One sample interval after the last sample, playback wraps to the first.
      const period = this.durationS * 1000 + this.loopGapMs();
      return ms % period;
    }
    return ms;
  }

  sampleAt(stream: ReplayStream): RecordedSample {
    const target = this.recording.startTs + this.playbackMs();
    const samples = stream.samples;
    // Binary search: the last sample with ts ≤ target.
    let lo = 0;
    let hi = samples.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((samples[mid]?.ts ?? 0) <= target) lo = mid;
      else hi = mid - 1;
    }
    const sample = samples[lo];
    if (!sample) throw new Error("a replay stream has no samples");
    return sample;
  }

  /** The typical gap between samples (first stream), so a loop does not repeat the last sample for 0 s. */
  private loopGapMs(): number {
    const samples = this.recording.streams[0]?.samples ?? [];
    if (samples.length < 2) return 1000;
    return Math.max(1, ((samples[samples.length - 1]?.ts ?? 0) - (samples[0]?.ts ?? 0)) / (samples.length - 1));
  }
}
