import { type BmsAlarmCode, EVT1_BITS, evt1ToAlarms } from "@bms/shared";
import {
  type DeviceProfile,
  decodeProfileText,
  decodeProfileValue,
  type ProfileArray,
  type ProfilePoint,
  type RegisterSpace,
  registerSize,
} from "@bms/shared/device-profile";
import { DecodeError } from "../readers/decode-error";
import { type DecodedSample, type PackIdentity, withoutUndefined } from "../readers/device-reader";

/** Registers that decode to nonsense under the profile: a scale factor out of range, a cell without a value. */
export class ProfileDecodeError extends DecodeError {
  override readonly name = "ProfileDecodeError";
}

/** The words read: the blocks of one poll, per register space (a handful, looked up by address). */
export class RegisterImage {
  private readonly blocks = { holding: [] as { address: number; words: readonly number[] }[], input: [] as { address: number; words: readonly number[] }[] };

  put(space: RegisterSpace, address: number, words: readonly number[]): void {
    this.blocks[space].push({ address, words });
  }

  get(space: RegisterSpace, address: number, count: number): number[] {
    // The latest block that holds the whole range (a later read of the same registers wins).
    const blocks = this.blocks[space];
    for (let b = blocks.length - 1; b >= 0; b--) {
      const block = blocks[b] as { address: number; words: readonly number[] };
      const at = address - block.address;
      if (at >= 0 && at + count <= block.words.length) return block.words.slice(at, at + count);
    }
    // The read plan covers every register the profile names: a hole is a bug, not a device fault.
    throw new Error(`registers ${address}-${address + count - 1} (${space}) were not read in one block`);
  }
}

const MAX_ABS_SCALE_FACTOR = 10;
/** Evt1 bit number → code, for alarm points without their own bit map. */
const EVT1_CODES = new Map<number, BmsAlarmCode>(Object.entries(EVT1_BITS).map(([code, bit]) => [bit, code as BmsAlarmCode]));
const EVT1_ORDER = [...EVT1_CODES.values()];

type Spec = ProfilePoint | ProfileArray;

function spaceOf(profile: DeviceProfile, spec: Spec): RegisterSpace {
  return spec.registers ?? profile.registers;
}

/** What an error names (a point, a cell), worked out only when there is an error: a poll decodes dozens of values. */
type Label = () => string;

/** The exponent in the spec's scale-factor register, undefined when it has none; throws when it is absurd. */
function scaleFactorOf(profile: DeviceProfile, spec: Spec, image: RegisterImage, what: Label): number | undefined | "not implemented" {
  if (spec.scaleFactorRegister === undefined) return undefined;
  const [word = 0] = image.get(spaceOf(profile, spec), spec.scaleFactorRegister, 1);
  const sf = decodeProfileValue([word], { type: "sunssf" });
  if (sf === undefined) return "not implemented";
  if (Math.abs(sf) > MAX_ABS_SCALE_FACTOR) {
    throw new ProfileDecodeError(`${what()}: scale factor register ${spec.scaleFactorRegister} holds ${sf}, outside -10..10`);
  }
  return sf;
}

function numberAt(profile: DeviceProfile, spec: Spec, address: number, image: RegisterImage, what: Label): number | undefined {
  const sf = scaleFactorOf(profile, spec, image, what);
  if (sf === "not implemented") return undefined;
  return decodeProfileValue(image.get(spaceOf(profile, spec), address, registerSize(spec.type)), spec, sf);
}

function alarmsOf(point: ProfilePoint, raw: number): BmsAlarmCode[] {
  const codes: BmsAlarmCode[] = [];
  if (point.bits === undefined) return evt1ToAlarms(raw);
  for (const [bit, code] of Object.entries(point.bits)) if (((raw >>> Number(bit)) & 1) === 1) codes.push(code);
  return codes;
}

/** Every `field` point and cell array → a pack sample, not yet validated. */
export function decodeProfileSample(profile: DeviceProfile, image: RegisterImage, ts: number): DecodedSample {
  const sample: DecodedSample = { v: 1, ts, seq: 0, cellVoltages: [], cellTemperatures: [] };
  let alarms: Set<BmsAlarmCode> | undefined;
  profile.points.forEach((point, i) => {
    const field = point.field;
    if (field === undefined) return;
    const value = numberAt(profile, point, point.address, image, () => `points.${i} (${field})`);
    if (field === "bmsAlarms") {
      if (value === undefined) return;
      alarms ??= new Set();
      for (const code of alarmsOf(point, value)) alarms.add(code);
      return;
    }
    sample[field] = value;
  });
  if (alarms) {
    // In vocabulary (Evt1 bit) order, whatever order the points gave them.
    sample.bmsAlarms = EVT1_ORDER.filter((code) => alarms?.has(code));
  }
  profile.arrays.forEach((array, i) => {
    const stride = array.stride ?? registerSize(array.type);
    for (let e = 0; e < array.count; e++) {
      const value = numberAt(profile, array, array.address + e * stride, image, () => `arrays.${i} (${array.field}[${e}])`);
      if (array.field === "cellVoltages") {
        // A cell without a value would shift the positions of every cell after it.
        if (value === undefined) throw new ProfileDecodeError(`cell ${sample.cellVoltages.length + 1} (arrays.${i}[${e}]) has no value`);
        sample.cellVoltages.push(value);
      } else if (value !== undefined) {
        // A sensor that is not fitted is simply not reported.
        sample.cellTemperatures.push(value);
      }
    }
  });
  return withoutUndefined(sample);
}

/** Every `meta` point → what the BMS says about itself. */
export function decodeProfileIdentity(profile: DeviceProfile, image: RegisterImage): PackIdentity {
  const identity: PackIdentity = {};
  profile.points.forEach((point, i) => {
    const meta = point.meta;
    if (meta === undefined) return;
    if (meta === "cellCount" || meta === "ratedCapacity") {
      const value = numberAt(profile, point, point.address, image, () => `points.${i} (meta ${meta})`);
      if (value !== undefined) identity[meta] = value;
      return;
    }
    identity[meta] = decodeProfileText(image.get(spaceOf(profile, point), point.address, registerSize(point.type, point.size)), point);
  });
  // A profile that does not say how many cells: as many as its cell-voltage arrays hold.
  if (identity.cellCount === undefined) {
    const cells = profile.arrays.filter((a) => a.field === "cellVoltages").reduce((n, a) => n + a.count, 0);
    if (cells > 0) identity.cellCount = cells;
  }
  return identity;
}
