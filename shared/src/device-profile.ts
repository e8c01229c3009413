import { z } from "zod";

/**
 * A declarative register profile: where a device that does not speak SunSpec keeps each pack-sample
 * value, as 16-bit Modbus registers. The simulator serves a map built from one; the edge agent
 * decodes the same file. Value = raw × multiplier + offset, multiplier = `scale` or 10^`scaleFactor`.
 */

export const RegisterType = z.enum(["uint16", "int16", "uint32", "int32", "float32"]);
export type RegisterType = z.infer<typeof RegisterType>;

/** Order of the two words of a 32-bit value: "big" = high word first (ABCD), "little" = low word first (CDAB). */
export const WordOrder = z.enum(["big", "little"]);
export type WordOrder = z.infer<typeof WordOrder>;

/** Scalar pack-sample fields a point can carry. `bmsAlarms` is a bitfield with SunSpec 802 Evt1 bit numbers. */
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

const Address = z.number().int().min(0).max(0xffff);

const Encoding = z
  .object({
    type: RegisterType,
    /** Only meaningful for 32-bit types. @default "big" */
    wordOrder: WordOrder.default("big"),
    /** Multiplier: value = raw × scale. Excludes `scaleFactor`. @default 1 */
    scale: z.number().positive().optional(),
    /** Exponent: value = raw × 10^scaleFactor (SunSpec style). Excludes `scale`. */
    scaleFactor: z.number().int().min(-10).max(10).optional(),
    /** Added after scaling, e.g. −273.15 for a temperature in kelvin. @default 0 */
    offset: z.number().default(0),
    /** Unit of the decoded value, for people; the field fixes the real unit (V, A, °C, %, Ah, kΩ). */
    unit: z.string().max(16).optional(),
  })
  .strict();

function oneScale(value: { scale?: number | undefined; scaleFactor?: number | undefined }): boolean {
  return value.scale === undefined || value.scaleFactor === undefined;
}
const ONE_SCALE = { message: "give either scale (a multiplier) or scaleFactor (a power of ten), not both" };

export const ProfilePoint = Encoding.extend({
  field: ProfileScalarField,
  /** 0-based protocol address of the (first) register. */
  address: Address,
}).refine(oneScale, ONE_SCALE);
export type ProfilePoint = z.infer<typeof ProfilePoint>;

/** A cell array: element i at address + i × stride. */
export const ProfileArray = Encoding.extend({
  field: ProfileArrayField,
  address: Address,
  /** Elements (cells or sensors) the map holds. */
  count: z.number().int().min(1).max(1024),
  /** Registers from one element to the next; at least the element's size. @default the element's size */
  stride: z.number().int().min(1).max(64).optional(),
}).refine(oneScale, ONE_SCALE);
export type ProfileArray = z.infer<typeof ProfileArray>;

export const DeviceProfile = z
  .object({
    /** Short name, e.g. "vendor-example". */
    name: z.string().min(1).max(64),
    manufacturer: z.string().max(64).optional(),
    description: z.string().max(2000).optional(),
    /** Which read function the device answers; the simulator answers both. @default "holding" */
    registers: z.enum(["holding", "input"]).default("holding"),
    points: z.array(ProfilePoint).max(256).default([]),
    arrays: z.array(ProfileArray).max(16).default([]),
  })
  .strict()
  .superRefine((profile, ctx) => {
    const spans: { from: number; to: number; what: string }[] = [];
    profile.points.forEach((p, i) => {
      spans.push({ from: p.address, to: p.address + registerSize(p.type), what: `points.${i} (${p.field})` });
    });
    profile.arrays.forEach((a, i) => {
      const size = registerSize(a.type);
      const stride = a.stride ?? size;
      if (stride < size)
        ctx.addIssue({ code: "custom", path: ["arrays", i, "stride"], message: `stride ${stride} is shorter than a ${a.type} (${size} registers)` });
      for (let e = 0; e < a.count; e++) spans.push({ from: a.address + e * stride, to: a.address + e * stride + size, what: `arrays.${i} (${a.field}[${e}])` });
    });
    spans.sort((x, y) => x.from - y.from);
    for (let i = 1; i < spans.length; i++) {
      const prev = spans[i - 1];
      const cur = spans[i];
      if (prev && cur && cur.from < prev.to) ctx.addIssue({ code: "custom", path: [], message: `${cur.what} overlaps ${prev.what} at register ${cur.from}` });
      if (cur && cur.to > 0x10000) ctx.addIssue({ code: "custom", path: [], message: `${cur.what} runs past register 65535` });
    }
  });
export type DeviceProfile = z.output<typeof DeviceProfile>;
export type DeviceProfileInput = z.input<typeof DeviceProfile>;

/** Registers a value of this type occupies. */
export function registerSize(type: RegisterType): 1 | 2 {
  return type === "uint16" || type === "int16" ? 1 : 2;
}

type EncodingSpec = Pick<ProfilePoint, "type" | "wordOrder" | "scale" | "scaleFactor" | "offset">;

function multiplierOf(spec: EncodingSpec): number {
  if (spec.scale !== undefined) return spec.scale;
  return spec.scaleFactor !== undefined ? 10 ** spec.scaleFactor : 1;
}

/** Decodes the words of one value (1 or 2 registers, in the device's order) into engineering units. */
export function decodeProfileValue(words: readonly number[], spec: EncodingSpec): number {
  const [w0 = 0, w1 = 0] = words;
  const [hi, lo] = spec.wordOrder === "little" ? [w1, w0] : [w0, w1];
  const bytes = new DataView(new ArrayBuffer(4));
  bytes.setUint16(0, hi & 0xffff);
  bytes.setUint16(2, lo & 0xffff);
  let raw: number;
  switch (spec.type) {
    case "uint16":
      raw = w0 & 0xffff;
      break;
    case "int16":
      raw = w0 & 0x8000 ? (w0 & 0xffff) - 0x10000 : w0 & 0xffff;
      break;
    case "uint32":
      raw = bytes.getUint32(0);
      break;
    case "int32":
      raw = bytes.getInt32(0);
      break;
    case "float32":
      raw = bytes.getFloat32(0);
      break;
  }
  const value = raw * multiplierOf(spec) + spec.offset;
  // Undo binary noise of the multiplication (0.1 × 3 = 0.30000000000000004) without losing resolution.
  return Number(value.toPrecision(12));
}

/** Encodes a value in engineering units into its words, clamped to the type's range. */
export function encodeProfileValue(value: number, spec: EncodingSpec): number[] {
  const scaled = (value - spec.offset) / multiplierOf(spec);
  const clamp = (min: number, max: number) => Math.min(max, Math.max(min, Math.round(scaled)));
  // DataView, not Buffer: this file is shared with code that may run in a browser.
  const bytes = new DataView(new ArrayBuffer(4));
  switch (spec.type) {
    case "uint16":
      return [clamp(0, 0xffff)];
    case "int16":
      return [clamp(-0x8000, 0x7fff) & 0xffff];
    case "uint32":
      bytes.setUint32(0, clamp(0, 0xffffffff));
      break;
    case "int32":
      bytes.setInt32(0, clamp(-0x80000000, 0x7fffffff));
      break;
    case "float32":
      bytes.setFloat32(0, scaled);
      break;
  }
  const hi = bytes.getUint16(0);
  const lo = bytes.getUint16(2);
  return spec.wordOrder === "little" ? [lo, hi] : [hi, lo];
}
