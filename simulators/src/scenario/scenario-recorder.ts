import { createHash } from "node:crypto";
import { SUNSPEC_BASE_ADDRESS, withCrc } from "@bms/shared";
import { MODEL_BATTERY } from "@bms/shared/sunspec/models";
import { type CanFrame, pylontechFrames } from "../protocols/can-frames";
import { damageRtuReply, replyDamage } from "../protocols/link-faults";
import type { LinkCondition } from "../simulated-device";
import { encodePackRegisters, sunspecLayoutFor } from "../sunspec-register-map";
import { parseScenario, readScenarioFile, type Scenario } from "./scenario-file";
import type { ScenarioPack } from "./scenario-pack";
import { ScenarioRunner } from "./scenario-runner";

/** What a poller would have got from one pack at one instant. */
export interface PackRecord {
  unitId: number;
  link: LinkCondition["kind"];
  /** The SunSpec register image from 40000 (SunS … end model); null while the link is silent. */
  registers: number[] | null;
  /**
   * The Modbus RTU reply to reading model 802 (function 3, its whole body), as the line delivers it:
   * damaged per the link (bad CRC, truncated, wrong unit); null while silent.
   */
  rtuReply: Buffer | null;
  /** The Pylontech CAN frames (0x351 … 0x35E) it broadcasts now; none while silent. */
  canFrames: CanFrame[];
}

export interface ScenarioRecord {
  /** Simulated seconds since the scenario's start. */
  t: number;
  packs: PackRecord[];
}

export interface RecordOptions {
  /** @default the scenario's durationS */
  durationS?: number;
  /** @default the scenario's intervalS */
  intervalS?: number;
}

function toScenario(source: Scenario | string): Scenario {
  return typeof source === "string" ? readScenarioFile(source) : parseScenario(source);
}

/** The RTU reply frame to `03 <802 start> <802 length>`: unit, 03, byte count, words, CRC. */
function rtuReadReply(unitId: number, words: readonly number[]): Buffer {
  const body = Buffer.alloc(3 + 2 * words.length);
  body[0] = unitId;
  body[1] = 3;
  body[2] = 2 * words.length;
  words.forEach((word, i) => {
    body.writeUInt16BE(word, 3 + 2 * i);
  });
  return withCrc(body);
}

function recordPack(pack: ScenarioPack): PackRecord {
  const link = pack.link();
  if (link.kind === "silent") return { unitId: pack.unitId, link: link.kind, registers: null, rtuReply: null, canFrames: [] };
  const snapshot = pack.snapshot();
  const layout = sunspecLayoutFor(snapshot, SUNSPEC_BASE_ADDRESS);
  const registers = encodePackRegisters(layout, pack.identity, snapshot);
  const start = layout.battery - layout.base;
  const model802 = registers.slice(start, start + 2 + MODEL_BATTERY.length);
  const rtuReply = damageRtuReply(rtuReadReply(pack.unitId, model802), replyDamage(pack));
  return { unitId: pack.unitId, link: link.kind, registers, rtuReply, canFrames: pylontechFrames(snapshot, pack.identity) };
}

/**
 * Runs a scenario in fast mode and yields what every pack's protocols carry at t = 0, intervalS,
 * 2 × intervalS … durationS. Pure: the same scenario gives the same records.
 */
export function* iterateScenario(source: Scenario | string, options: RecordOptions = {}): Generator<ScenarioRecord> {
  const scenario = toScenario(source);
  const durationS = options.durationS ?? scenario.durationS;
  const intervalS = options.intervalS ?? scenario.intervalS;
  if (!(durationS >= 0) || !(intervalS > 0)) throw new RangeError(`durationS must be ≥ 0 and intervalS > 0, got ${durationS} and ${intervalS}`);
  const runner = new ScenarioRunner(scenario);
  const count = Math.floor(durationS / intervalS + 1e-9);
  for (let i = 0; i <= count; i++) {
    if (i > 0) runner.advance(intervalS);
    yield { t: i * intervalS, packs: runner.packs.map(recordPack) };
  }
}

/** Every record of a scenario run (see iterateScenario). */
export function recordScenario(source: Scenario | string, options: RecordOptions = {}): ScenarioRecord[] {
  return [...iterateScenario(source, options)];
}

const LINK_CODE: Record<LinkCondition["kind"], number> = { ok: 0, silent: 1, garbled: 2 };

/**
 * One record as bytes: t (float64 BE), pack count, then per pack unit ID, link code, register
 * count + words (u16 BE), RTU reply length + bytes, CAN frame count + (ID u32 BE, length, data) each.
 * Stable across runs and machines.
 */
export function serialiseRecord(record: ScenarioRecord): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(10);
  head.writeDoubleBE(record.t, 0);
  head.writeUInt16BE(record.packs.length, 8);
  parts.push(head);
  for (const pack of record.packs) {
    const registers = pack.registers ?? [];
    const rtu = pack.rtuReply ?? Buffer.alloc(0);
    const buf = Buffer.alloc(2 + 1 + 4 + 2 * registers.length + 4);
    let at = buf.writeUInt16BE(pack.unitId, 0);
    at = buf.writeUInt8(LINK_CODE[pack.link], at);
    at = buf.writeUInt32BE(registers.length, at);
    for (const word of registers) at = buf.writeUInt16BE(word, at);
    buf.writeUInt32BE(rtu.length, at);
    parts.push(buf, rtu);
    const can = Buffer.alloc(2);
    can.writeUInt16BE(pack.canFrames.length, 0);
    parts.push(can);
    for (const frame of pack.canFrames) {
      const frameHead = Buffer.alloc(5);
      frameHead.writeUInt32BE(frame.id, 0);
      frameHead.writeUInt8(frame.data.length, 4);
      parts.push(frameHead, Buffer.from(frame.data));
    }
  }
  return Buffer.concat(parts);
}

/** sha256 (hex) of the serialised records of a run: equal hashes = byte-identical output. */
export function hashScenario(source: Scenario | string, options: RecordOptions = {}): string {
  const hash = createHash("sha256");
  for (const record of iterateScenario(source, options)) hash.update(serialiseRecord(record));
  return hash.digest("hex");
}
