import { z } from "zod";
import { BmsAlarmCode } from "./bms-alarms";
import { registerSize } from "./device-profile-codec";
import { ByteOrder, RegisterType } from "./register-types";

export {
  byteOrderOf,
  decodeProfileText,
  decodeProfileValue,
  encodeProfileText,
  encodeProfileValue,
  isNotImplemented,
  registerSize,
} from "./device-profile-codec";
export { ByteOrder, RegisterType } from "./register-types";

/**
 * A declarative register profile: where a BMS that does not speak SunSpec keeps each pack-sample
 * and identity value, as 16-bit Modbus registers. The simulator serves a map built from one; the
 * edge agent reads the same file. Value = raw × multiplier + offset, the multiplier being `scale`,
 * 10^`scaleFactor`, or 10^(the signed register at `scaleFactorRegister`). docs/edge-agent.md
 * documents the format.
 */

/** Modbus function 3 (holding registers) or 4 (input registers): two separate address spaces. */
export const RegisterSpace = z.enum(["holding", "input"]);
export type RegisterSpace = z.infer<typeof RegisterSpace>;

/** Scalar pack-sample fields a point can feed. `bmsAlarms` is a bitfield (see `bits`). */
export const ProfileScalarField = z.enum([
  "packVoltage",
  "current",
  "soc",
  "soh",
  "remainingCapacity",
  "cycleCount",
  "chargeCurrentLimit",
  "dischargeCurrentLimit",
  "chargeVoltageLimit",
  "dischargeVoltageLimit",
  "insulationResistance",
  "bmsAlarms",
]);
export type ProfileScalarField = z.infer<typeof ProfileScalarField>;

export const ProfileArrayField = z.enum(["cellVoltages", "cellTemperatures"]);
export type ProfileArrayField = z.infer<typeof ProfileArrayField>;

/** Pack-identity (meta) fields a point can feed: the text ones need type `string`. */
export const ProfileMetaField = z.enum(["manufacturer", "model", "serial", "bmsFirmware", "cellCount", "ratedCapacity"]);
export type ProfileMetaField = z.infer<typeof ProfileMetaField>;
export const TEXT_META_FIELDS: ReadonlySet<ProfileMetaField> = new Set(["manufacturer", "model", "serial", "bmsFirmware"]);

const Address = z.number().int().min(0).max(0xffff);
const MAX_ABS_SCALE_FACTOR = 10;

/** How one value is stored: shared by points and cell arrays. */
const Encoding = z.object({
  type: RegisterType,
  /** @default "ABCD" */
  byteOrder: ByteOrder.default("ABCD"),
  /** Registers of a `string` (two characters each); only for strings. */
  size: z.number().int().min(1).max(64).optional(),
  /** Multiplier: value = raw × scale. @default 1 */
  scale: z.number().positive().finite().optional(),
  /** Exponent: value = raw × 10^scaleFactor (SunSpec style). */
  scaleFactor: z.number().int().min(-MAX_ABS_SCALE_FACTOR).max(MAX_ABS_SCALE_FACTOR).optional(),
  /** Address of a signed 16-bit exponent register (a SunSpec `sunssf`), in the same register space. */
  scaleFactorRegister: Address.optional(),
  /** Added after scaling, e.g. −273.15 for a temperature in kelvin. @default 0 */
  offset: z.number().finite().default(0),
  /** A raw value that means "the device does not have it" (the value is then left out). SunSpec types have theirs built in. */
  missing: z.number().int().optional(),
  /** Which read function; @default the profile's `registers` */
  registers: RegisterSpace.optional(),
  /** Unit of the decoded value, for people; the field fixes the real unit (V, A, °C, %, Ah, kΩ). */
  unit: z.string().max(16).optional(),
});

type EncodingShape = z.infer<typeof Encoding>;

/** Issues that every point and array shares: one scale, strings sized, numbers not sized. */
function checkEncoding(value: EncodingShape, ctx: z.RefinementCtx): void {
  const scales = [value.scale, value.scaleFactor, value.scaleFactorRegister].filter((s) => s !== undefined).length;
  if (scales > 1) ctx.addIssue({ code: "custom", path: [], message: "give one of scale (a multiplier), scaleFactor (a power of ten) or scaleFactorRegister" });
  if (value.type === "string" && value.size === undefined) ctx.addIssue({ code: "custom", path: ["size"], message: "a string needs size (registers)" });
  if (value.type !== "string" && value.size !== undefined) ctx.addIssue({ code: "custom", path: ["size"], message: "size is only for strings" });
  if (value.type === "string" && scales > 0) ctx.addIssue({ code: "custom", path: [], message: "a string cannot be scaled" });
}

export const ProfilePoint = Encoding.extend({
  /** The pack-sample field it feeds; give this or `meta`. */
  field: ProfileScalarField.optional(),
  /** The pack-identity field it feeds; give this or `field`. */
  meta: ProfileMetaField.optional(),
  /** 0-based protocol address of the (first) register. */
  address: Address,
  /**
   * For `bmsAlarms`: bit number → alarm code of the fixed vocabulary. Without it the bits are
   * SunSpec 802 Evt1's. Several alarm points add up.
   */
  bits: z.record(z.string().regex(/^([0-9]|[12][0-9]|3[01])$/, "a bit number 0-31"), BmsAlarmCode).optional(),
})
  .strict()
  .superRefine((point, ctx) => {
    checkEncoding(point, ctx);
    if ((point.field === undefined) === (point.meta === undefined)) {
      ctx.addIssue({ code: "custom", path: [], message: "give exactly one of field (a sample value) or meta (an identity value)" });
    }
    const text = point.meta !== undefined && TEXT_META_FIELDS.has(point.meta);
    if (text && point.type !== "string") ctx.addIssue({ code: "custom", path: ["type"], message: `meta ${point.meta} is text: use type string` });
    if (!text && point.type === "string")
      ctx.addIssue({ code: "custom", path: ["type"], message: "only manufacturer, model, serial and bmsFirmware are strings" });
    if (point.bits !== undefined) {
      if (point.field !== "bmsAlarms") ctx.addIssue({ code: "custom", path: ["bits"], message: "bits are for field bmsAlarms" });
      const width = registerSize(point.type) * 16;
      for (const bit of Object.keys(point.bits)) {
        if (Number(bit) >= width) ctx.addIssue({ code: "custom", path: ["bits", bit], message: `bit ${bit} does not exist in a ${point.type}` });
      }
    }
    if (point.field === "bmsAlarms" && !["uint16", "uint32", "bitfield16", "bitfield32"].includes(point.type)) {
      ctx.addIssue({ code: "custom", path: ["type"], message: "bmsAlarms is a bitfield: use uint16, uint32, bitfield16 or bitfield32" });
    }
  });
export type ProfilePoint = z.output<typeof ProfilePoint>;

/** A cell array: element i at address + i × stride. Arrays of one field add up in file order (modules). */
export const ProfileArray = Encoding.extend({
  field: ProfileArrayField,
  address: Address,
  /** Elements (cells or sensors) the map holds. */
  count: z.number().int().min(1).max(1024),
  /** Registers from one element to the next; at least the element's size. @default the element's size */
  stride: z.number().int().min(1).max(64).optional(),
})
  .strict()
  .superRefine((array, ctx) => {
    checkEncoding(array, ctx);
    if (array.type === "string") ctx.addIssue({ code: "custom", path: ["type"], message: "cell values are numbers, not strings" });
    const size = registerSize(array.type);
    if (array.stride !== undefined && array.stride < size) {
      ctx.addIssue({ code: "custom", path: ["stride"], message: `stride ${array.stride} is shorter than a ${array.type} (${size} registers)` });
    }
  });
export type ProfileArray = z.output<typeof ProfileArray>;

/** A range of registers the device answers: reads never leave one, so gaps inside it must be readable. */
export const ProfileBlock = z
  .object({
    /** @default the profile's `registers` */
    registers: RegisterSpace.optional(),
    address: Address,
    count: z.number().int().min(1).max(0x10000),
  })
  .strict();
export type ProfileBlock = z.output<typeof ProfileBlock>;

/** The largest gap a read may span when no blocks are declared: the simulator serves the same. */
export const DEFAULT_MAX_GAP = 16;

export const DeviceProfile = z
  .object({
    /** Short name, e.g. "vendor-example". */
    name: z.string().min(1).max(64),
    manufacturer: z.string().max(64).optional(),
    description: z.string().max(2000).optional(),
    /** Read function of every point that names none. @default "holding" */
    registers: RegisterSpace.default("holding"),
    /**
     * The ranges the device answers. When given, every point must lie in one of its space, and a
     * read covers any registers of a block. When left out, reads span gaps of up to `maxGap`.
     */
    blocks: z.array(ProfileBlock).max(64).optional(),
    /** Unused registers a read may span between points when no blocks are declared. @default 16 */
    maxGap: z.number().int().min(0).max(124).default(DEFAULT_MAX_GAP),
    points: z.array(ProfilePoint).max(256).default([]),
    arrays: z.array(ProfileArray).max(64).default([]),
  })
  .strict()
  .superRefine((profile, ctx) => {
    const spaceOf = (own: RegisterSpace | undefined) => own ?? profile.registers;
    // One source per value: two points feeding packVoltage would make the sample depend on read order.
    const fed = new Map<string, number>();
    profile.points.forEach((p, i) => {
      const target = p.field ?? `meta ${p.meta}`;
      const first = fed.get(target);
      if (first !== undefined && target !== "bmsAlarms") {
        ctx.addIssue({ code: "custom", path: ["points", i], message: `${target} is already fed by points.${first}` });
      }
      if (first === undefined) fed.set(target, i);
    });
    const spans: { space: RegisterSpace; from: number; to: number; what: string; path: (string | number)[] }[] = [];
    profile.points.forEach((p, i) => {
      spans.push({ space: spaceOf(p.registers), from: p.address, to: p.address + registerSize(p.type, p.size), what: `points.${i}`, path: ["points", i] });
      if (p.scaleFactorRegister !== undefined) {
        const at = p.scaleFactorRegister;
        spans.push({ space: spaceOf(p.registers), from: at, to: at + 1, what: `points.${i}.scaleFactorRegister`, path: ["points", i, "scaleFactorRegister"] });
      }
    });
    profile.arrays.forEach((a, i) => {
      const size = registerSize(a.type);
      const stride = a.stride ?? size;
      spans.push({ space: spaceOf(a.registers), from: a.address, to: a.address + (a.count - 1) * stride + size, what: `arrays.${i}`, path: ["arrays", i] });
      if (a.scaleFactorRegister !== undefined) {
        const at = a.scaleFactorRegister;
        spans.push({ space: spaceOf(a.registers), from: at, to: at + 1, what: `arrays.${i}.scaleFactorRegister`, path: ["arrays", i, "scaleFactorRegister"] });
      }
    });
    for (const span of spans) {
      if (span.to > 0x10000) ctx.addIssue({ code: "custom", path: span.path, message: `${span.what} runs past register 65535` });
    }
    if (profile.blocks) {
      for (const [i, b] of profile.blocks.entries()) {
        if (b.address + b.count > 0x10000) ctx.addIssue({ code: "custom", path: ["blocks", i], message: "the block runs past register 65535" });
      }
      for (const span of spans) {
        const inside = profile.blocks.some((b) => spaceOf(b.registers) === span.space && span.from >= b.address && span.to <= b.address + b.count);
        if (!inside)
          ctx.addIssue({ code: "custom", path: span.path, message: `registers ${span.from}-${span.to - 1} (${span.space}) lie in no declared block` });
      }
    }
    // Scale-factor registers may be shared; values may not overlap each other or a scale-factor register.
    const values = spans.filter((s) => !s.what.endsWith("scaleFactorRegister"));
    const factors = spans.filter((s) => s.what.endsWith("scaleFactorRegister"));
    for (const space of RegisterSpace.options) {
      const mine = values.filter((s) => s.space === space).sort((x, y) => x.from - y.from);
      for (let i = 1; i < mine.length; i++) {
        const prev = mine[i - 1];
        const cur = mine[i];
        if (prev && cur && cur.from < prev.to)
          ctx.addIssue({ code: "custom", path: cur.path, message: `${cur.what} overlaps ${prev.what} at register ${cur.from}` });
      }
      for (const f of factors.filter((s) => s.space === space)) {
        const hit = mine.find((v) => f.from >= v.from && f.from < v.to);
        if (hit) ctx.addIssue({ code: "custom", path: f.path, message: `${f.what} ${f.from} is inside ${hit.what}` });
      }
    }
  });
export type DeviceProfile = z.output<typeof DeviceProfile>;
export type DeviceProfileInput = z.input<typeof DeviceProfile>;

/** A range of one register space: [from, to). */
export interface RegisterSpan {
  space: RegisterSpace;
  from: number;
  /** Exclusive. */
  to: number;
}

/** Which registers: every one the profile uses, those the sample needs (fields, cell arrays), or the identity's (`meta` points). */
export type ProfilePart = "all" | "sample" | "identity";

/** The register ranges the points and array elements of `part` occupy, with their scale-factor registers. */
export function profileFootprint(profile: DeviceProfile, part: ProfilePart = "all"): RegisterSpan[] {
  const spans: RegisterSpan[] = [];
  const add = (own: RegisterSpace | undefined, from: number, size: number) => spans.push({ space: own ?? profile.registers, from, to: from + size });
  for (const p of profile.points) {
    if (part !== "all" && (part === "identity") !== (p.meta !== undefined)) continue;
    add(p.registers, p.address, registerSize(p.type, p.size));
    if (p.scaleFactorRegister !== undefined) add(p.registers, p.scaleFactorRegister, 1);
  }
  if (part === "identity") return spans;
  for (const a of profile.arrays) {
    const size = registerSize(a.type);
    const stride = a.stride ?? size;
    for (let i = 0; i < a.count; i++) add(a.registers, a.address + i * stride, size);
    if (a.scaleFactorRegister !== undefined) add(a.registers, a.scaleFactorRegister, 1);
  }
  return spans;
}

/**
 * The ranges the device answers: the declared blocks, or else every register the profile uses,
 * merged across gaps of up to `maxGap`. The simulator serves exactly these; the agent reads within them.
 */
export function profileBlocks(profile: DeviceProfile): RegisterSpan[] {
  if (profile.blocks) {
    return profile.blocks.map((b) => ({ space: b.registers ?? profile.registers, from: b.address, to: b.address + b.count }));
  }
  const merged: RegisterSpan[] = [];
  const sorted = profileFootprint(profile).sort((x, y) => (x.space === y.space ? x.from - y.from : x.space < y.space ? -1 : 1));
  for (const span of sorted) {
    const last = merged[merged.length - 1];
    if (last && last.space === span.space && span.from <= last.to + profile.maxGap) last.to = Math.max(last.to, span.to);
    else merged.push({ ...span });
  }
  return merged;
}
