import type { ByteOrder, RegisterType } from "./register-types";

/**
 * Encoding and decoding of one profile value (device-profile.ts): the simulator encodes with it,
 * the edge agent decodes. DataView, not Buffer: this file may run in a browser.
 */

/** What the codec needs of a point or array. */
export interface EncodingSpec {
  type: RegisterType;
  /** @default "ABCD" */
  byteOrder?: ByteOrder | undefined;
  size?: number | undefined;
  scale?: number | undefined;
  scaleFactor?: number | undefined;
  /** @default 0 */
  offset?: number | undefined;
  missing?: number | undefined;
}

/** Registers a value of this type occupies (`size` for strings). */
export function registerSize(type: RegisterType, size = 1): number {
  switch (type) {
    case "uint16":
    case "int16":
    case "sunssf":
    case "enum16":
    case "bitfield16":
    case "acc16":
      return 1;
    case "uint32":
    case "int32":
    case "float32":
    case "bitfield32":
    case "acc32":
      return 2;
    case "string":
      return size;
  }
}

/** SunSpec's "not implemented" raw values (docs/sunspec.md); accumulators use 0. */
const SUNSPEC_NOT_IMPLEMENTED: Partial<Record<RegisterType, number>> = {
  sunssf: -0x8000,
  enum16: 0xffff,
  bitfield16: 0xffff,
  bitfield32: 0xffffffff,
  acc16: 0,
  acc32: 0,
};

export function byteOrderOf(spec: EncodingSpec): ByteOrder {
  return spec.byteOrder ?? "ABCD";
}

/** The four bytes A B C D (A most significant) from two words as the device sent them. */
/** One scratch view for decoding: read right after it is filled, never kept (a sample decodes ~50 values). */
const SCRATCH = new DataView(new ArrayBuffer(4));

function bytesFrom(words: readonly number[], order: ByteOrder): DataView {
  const [w0 = 0, w1 = 0] = words;
  const view = SCRATCH;
  const put = (at: number, word: number, swap: boolean) => {
    const hi = (word >> 8) & 0xff;
    const lo = word & 0xff;
    view.setUint8(at, swap ? lo : hi);
    view.setUint8(at + 1, swap ? hi : lo);
  };
  switch (order) {
    case "ABCD":
      put(0, w0, false);
      put(2, w1, false);
      break;
    case "CDAB":
      put(0, w1, false);
      put(2, w0, false);
      break;
    case "BADC":
      put(0, w0, true);
      put(2, w1, true);
      break;
    case "DCBA":
      put(0, w1, true);
      put(2, w0, true);
      break;
  }
  return view;
}

/** The two words a device sends for bytes A B C D, in its order. */
function wordsFrom(view: DataView, order: ByteOrder): number[] {
  const a = view.getUint8(0);
  const b = view.getUint8(1);
  const c = view.getUint8(2);
  const d = view.getUint8(3);
  switch (order) {
    case "ABCD":
      return [(a << 8) | b, (c << 8) | d];
    case "CDAB":
      return [(c << 8) | d, (a << 8) | b];
    case "BADC":
      return [(b << 8) | a, (d << 8) | c];
    case "DCBA":
      return [(d << 8) | c, (b << 8) | a];
  }
}

function swapped16(word: number, order: ByteOrder): number {
  const w = word & 0xffff;
  return order === "BADC" || order === "DCBA" ? ((w & 0xff) << 8) | (w >> 8) : w;
}

/** The raw integer (or float) a value's words hold, signed where the type is. */
export function decodeRaw(words: readonly number[], spec: EncodingSpec): number {
  const order = byteOrderOf(spec);
  switch (spec.type) {
    case "uint16":
    case "enum16":
    case "bitfield16":
    case "acc16":
      return swapped16(words[0] ?? 0, order);
    case "int16":
    case "sunssf": {
      const w = swapped16(words[0] ?? 0, order);
      return w & 0x8000 ? w - 0x10000 : w;
    }
    case "uint32":
    case "bitfield32":
    case "acc32":
      return bytesFrom(words, order).getUint32(0);
    case "int32":
      return bytesFrom(words, order).getInt32(0);
    case "float32":
      return bytesFrom(words, order).getFloat32(0);
    case "string":
      throw new TypeError("a string has no numeric value: use decodeProfileText");
  }
}

/** True when the raw value means "the device does not have it" (the spec's `missing`, or SunSpec's value). */
export function isNotImplemented(raw: number, spec: EncodingSpec): boolean {
  if (spec.missing !== undefined && raw === spec.missing) return true;
  const sunspec = SUNSPEC_NOT_IMPLEMENTED[spec.type];
  return sunspec !== undefined && raw === sunspec;
}

function multiplierOf(spec: EncodingSpec, scaleFactor: number | undefined): number {
  if (spec.scale !== undefined) return spec.scale;
  const exponent = scaleFactor ?? spec.scaleFactor;
  return exponent !== undefined ? 10 ** exponent : 1;
}

/**
 * Decodes the words of one value (in the device's order) into engineering units; undefined when the
 * device says it has no such value, or the float is not a number. `scaleFactor` is the exponent read
 * from a scale-factor register, when the spec names one.
 */
export function decodeProfileValue(words: readonly number[], spec: EncodingSpec, scaleFactor?: number): number | undefined {
  const raw = decodeRaw(words, spec);
  if (isNotImplemented(raw, spec) || !Number.isFinite(raw)) return undefined;
  if (spec.type === "bitfield16" || spec.type === "bitfield32") return raw;
  const multiplier = multiplierOf(spec, scaleFactor);
  const offset = spec.offset ?? 0;
  if (Number.isInteger(raw)) {
    if (Number.isInteger(multiplier) && Number.isInteger(offset)) return raw * multiplier + offset;
    // An integer times 10^-k is the integer over 10^k: one division, correctly rounded (3 / 10 is
    // 0.3, where 3 × 0.1 is 0.30000000000000004), and far cheaper than rounding through a string.
    // An offset in the same steps (−273.1 K at 0.1) joins the integer first: (raw − 2731) / 10.
    const k = Math.round(-Math.log10(multiplier));
    if (k > 0 && k <= 15 && 10 ** -k === multiplier) {
      const steps = Math.round(offset * 10 ** k);
      if (Math.abs(offset * 10 ** k - steps) < 1e-6) return (raw + steps) / 10 ** k;
    }
  }
  // Anything else (a float, an offset, a scale that is no power of ten): undo the binary noise of
  // the arithmetic without losing resolution.
  return Number((raw * multiplier + offset).toPrecision(12));
}

/** Encodes a value in engineering units into its words, clamped to the type's range. */
export function encodeProfileValue(value: number, spec: EncodingSpec, scaleFactor?: number): number[] {
  const order = byteOrderOf(spec);
  const scaled = (value - (spec.offset ?? 0)) / multiplierOf(spec, scaleFactor);
  const clamp = (min: number, max: number) => Math.min(max, Math.max(min, Math.round(scaled)));
  const view = new DataView(new ArrayBuffer(4));
  switch (spec.type) {
    case "uint16":
    case "enum16":
    case "bitfield16":
    case "acc16":
      return [swapped16(clamp(0, 0xffff), order)];
    case "int16":
    case "sunssf":
      return [swapped16(clamp(-0x8000, 0x7fff) & 0xffff, order)];
    case "uint32":
    case "bitfield32":
    case "acc32":
      view.setUint32(0, clamp(0, 0xffffffff));
      break;
    case "int32":
      view.setInt32(0, clamp(-0x80000000, 0x7fffffff));
      break;
    case "float32":
      view.setFloat32(0, scaled);
      break;
    case "string":
      throw new TypeError("a string is encoded with encodeProfileText");
  }
  return wordsFrom(view, order);
}

/** Two characters per register, NUL padded, trimmed; BADC / DCBA swap the two of each register. */
export function decodeProfileText(words: readonly number[], spec: EncodingSpec): string {
  const order = byteOrderOf(spec);
  let out = "";
  for (const word of words) {
    const w = swapped16(word, order);
    out += String.fromCharCode(w >> 8, w & 0xff);
  }
  // Printable ASCII only: a BMS string is an identifier, and this one goes into logs and MQTT.
  return out
    .replace(/\0.*$/s, "")
    .replace(/[^\x20-\x7e]/g, "")
    .trim();
}

export function encodeProfileText(text: string, spec: EncodingSpec): number[] {
  const size = spec.size ?? 1;
  const order = byteOrderOf(spec);
  return Array.from({ length: size }, (_, i) => {
    const hi = (text.charCodeAt(2 * i) || 0) & 0xff;
    const lo = (text.charCodeAt(2 * i + 1) || 0) & 0xff;
    return swapped16((hi << 8) | lo, order);
  });
}
