import type { PointDef, PointType } from "./model-types";

/**
 * SunSpec point values on Modbus registers: big-endian words, 32-bit values high word first,
 * strings two 8-bit characters per register, NUL padded. Every type has a "not implemented" value
 * (below); scaled points carry value = raw × 10^SF, SF a `sunssf` point of the same model.
 * Sources: docs/sunspec.md.
 */

/** Thrown for a value a point cannot hold (out of its type's range, not one of its symbols, a sentinel, a bad scale factor). */
export class SunSpecValueError extends RangeError {
  override readonly name = "SunSpecValueError";
}

/**
 * "Not implemented" per type, as the raw word (16-bit types) or the raw 32-bit value. Strings are
 * all NUL. Pads carry 0x8000; clients never read them (docs/sunspec.md says why this value).
 */
export const NOT_IMPLEMENTED = {
  int16: 0x8000,
  sunssf: 0x8000,
  uint16: 0xffff,
  enum16: 0xffff,
  bitfield16: 0xffff,
  acc16: 0,
  pad: 0x8000,
  int32: 0x80000000,
  uint32: 0xffffffff,
  enum32: 0xffffffff,
  bitfield32: 0xffffffff,
  acc32: 0,
} as const satisfies Record<Exclude<PointType, "string">, number>;

/** SunSpec allows scale factors −10..10. */
export const MAX_SCALE_FACTOR = 10;

const SIGNED = new Set<PointType>(["int16", "sunssf", "int32"]);

const RANGES: Readonly<Record<Exclude<PointType, "string">, { min: number; max: number }>> = {
  int16: { min: -0x7fff, max: 0x7fff },
  sunssf: { min: -0x7fff, max: 0x7fff },
  uint16: { min: 0, max: 0xfffe },
  enum16: { min: 0, max: 0xfffe },
  bitfield16: { min: 0, max: 0xfffe },
  acc16: { min: 1, max: 0xffff },
  pad: { min: NOT_IMPLEMENTED.pad, max: NOT_IMPLEMENTED.pad },
  int32: { min: -0x7fffffff, max: 0x7fffffff },
  uint32: { min: 0, max: 0xfffffffe },
  enum32: { min: 0, max: 0xfffffffe },
  bitfield32: { min: 0, max: 0xfffffffe },
  acc32: { min: 1, max: 0xffffffff },
};

/** The implemented raw values of a type (its "not implemented" value excluded). */
export function rawRange(type: PointType): { min: number; max: number } {
  if (type === "string") throw new SunSpecValueError("a string has no numeric range");
  return RANGES[type];
}

export function toInt16(word: number): number {
  return word & 0x8000 ? word - 0x10000 : word;
}

export function fromInt16(value: number): number {
  return value & 0xffff;
}

export function readUint32(regs: ArrayLike<number>, offset: number): number {
  return (((regs[offset] ?? 0) << 16) >>> 0) + (regs[offset + 1] ?? 0);
}

export function writeUint32(regs: number[], offset: number, value: number): void {
  regs[offset] = (value >>> 16) & 0xffff;
  regs[offset + 1] = value & 0xffff;
}

/** Text of a string point; NUL ends it, trailing spaces go. */
export function decodeText(words: readonly number[]): string {
  let out = "";
  for (const word of words) out += String.fromCharCode(word >> 8, word & 0xff);
  return out.replace(/\0.*$/s, "").trimEnd();
}

/** `size` registers of text, NUL padded; longer text is cut. */
export function encodeText(text: string, size: number): number[] {
  const words = new Array<number>(size);
  for (let i = 0; i < size; i++) words[i] = (((text.charCodeAt(2 * i) || 0) & 0xff) << 8) | ((text.charCodeAt(2 * i + 1) || 0) & 0xff);
  return words;
}

/** The registers of a point that its device does not implement. */
export function notImplementedWords(def: PointDef): number[] {
  if (def.type === "string") return new Array<number>(def.size).fill(0);
  const raw = NOT_IMPLEMENTED[def.type];
  return def.size === 2 ? [(raw >>> 16) & 0xffff, raw & 0xffff] : [raw];
}

/** The point's raw integer (signed where its type is), or undefined when it is "not implemented". */
export function decodeRaw(def: PointDef, words: readonly number[]): number | undefined {
  return decodeRawAt(def, words, 0);
}

/** decodeRaw of the point whose first register is `regs[at]` (no copy of its words). */
export function decodeRawAt(def: PointDef, regs: readonly number[], at: number): number | undefined {
  if (def.type === "string") throw new SunSpecValueError("a string point has no raw integer: use decodeText");
  const unsigned = def.size === 2 ? readUint32(regs, at) : (regs[at] ?? 0);
  if (unsigned === NOT_IMPLEMENTED[def.type] && def.type !== "pad") return undefined;
  if (!SIGNED.has(def.type)) return unsigned;
  return def.size === 2 ? unsigned | 0 : toInt16(unsigned);
}

/** Per definition, worked out once: an enum's values, a bitfield's defined bits and its named (not reserved) bits. */
interface SymbolFacts {
  values: ReadonlySet<number>;
  definedBits: number;
  namedBits: number;
}

const symbolFacts = new WeakMap<PointDef, SymbolFacts>();

function factsOf(def: PointDef): SymbolFacts {
  let facts = symbolFacts.get(def);
  if (!facts) {
    const entries = Object.entries(def.symbols ?? {});
    const mask = (keep: (name: string) => boolean) => entries.reduce((bits, [name, bit]) => (keep(name) ? (bits | (1 << bit)) >>> 0 : bits), 0);
    facts = { values: new Set(entries.map(([, value]) => value)), definedBits: mask(() => true), namedBits: mask((name) => !name.startsWith("RESERVED")) };
    symbolFacts.set(def, facts);
  }
  return facts;
}

/** What an error names: the point, worked out only when there is an error. */
export type Label = string | (() => string);

const named = (what: Label) => (typeof what === "function" ? what() : what);

function checkSymbols(def: PointDef, raw: number, what: Label): void {
  if (!def.symbols) return;
  const facts = factsOf(def);
  if (def.type === "bitfield16" || def.type === "bitfield32") {
    const undefinedBits = (raw & ~facts.definedBits) >>> 0;
    if (undefinedBits !== 0) throw new SunSpecValueError(`${named(what)}: bit ${31 - Math.clz32(undefinedBits & -undefinedBits)} is not defined`);
  } else if ((def.type === "enum16" || def.type === "enum32") && !facts.values.has(raw)) {
    const names = Object.entries(def.symbols).map(([name, value]) => `${value} ${name}`);
    throw new SunSpecValueError(`${named(what)}: ${raw} is not one of ${names.join(", ")}`);
  }
}

/**
 * Throws SunSpecValueError unless `raw` is an implemented value of the point: an integer in its
 * type's range, one of its enum symbols, only defined bits of its bitfield.
 */
export function checkRaw(def: PointDef, raw: number, what: Label = "value"): void {
  const { min, max } = rawRange(def.type);
  if (!Number.isInteger(raw) || raw < min || raw > max) throw new SunSpecValueError(`${named(what)}: ${raw} is outside ${def.type} ${min}..${max}`);
  if (def.type === "sunssf" && Math.abs(raw) > MAX_SCALE_FACTOR) throw new SunSpecValueError(`${named(what)}: scale factor ${raw} is outside -10..10`);
  checkSymbols(def, raw, what);
}

/**
 * The bits of a bitfield value that its definition names as events; bits it leaves out or marks
 * RESERVED_* go (803/804 reserve bit 24, which 802 Evt1 names CURRENT_IMBALANCE_WARNING).
 */
export function namedBits(def: PointDef, bits: number): number {
  return (bits & factsOf(def).namedBits) >>> 0;
}

/** Writes the registers of a raw integer (checked) into `regs` at `at`. */
export function encodeRawInto(regs: number[], at: number, def: PointDef, raw: number, what: Label = "value"): void {
  if (def.type === "string") throw new SunSpecValueError(`${named(what)}: a string point takes text`);
  checkRaw(def, raw, what);
  if (def.size === 2) {
    const unsigned = raw >>> 0;
    regs[at] = (unsigned >>> 16) & 0xffff;
    regs[at + 1] = unsigned & 0xffff;
  } else regs[at] = raw & 0xffff;
}

/** The registers of a raw integer (checked), or of "not implemented" for null. */
export function encodeRaw(def: PointDef, raw: number | null, what: Label = "value"): number[] {
  if (raw === null) return notImplementedWords(def);
  const words = new Array<number>(def.size);
  encodeRawInto(words, 0, def, raw, what);
  return words;
}

/**
 * value × 10^sf, as the decimal it is (no 0.30000000000000004): for sf < 0 the integer over 10^-sf
 * (both exact, and division rounds once, to the double nearest that decimal), for sf > 0 an integer.
 */
export function applyScale(raw: number, sf: number): number {
  return sf < 0 ? raw / 10 ** -sf : sf === 0 ? raw : raw * 10 ** sf;
}

/** The raw integer that carries `value` at scale factor `sf` (nearest). */
export function scaledRaw(value: number, sf: number): number {
  const raw = sf <= 0 ? value * 10 ** -sf : value / 10 ** sf;
  return Math.round(raw) || 0;
}

/**
 * The finest scale factor, not finer than `preferred`, at which every value fits its point's type:
 * a 224-cell pack (818 V) gets V_SF −1 where 16 cells (58 V) keep −2. Throws when even 10 is not enough.
 */
export function chooseScaleFactor(preferred: number, values: readonly { def: PointDef; value: number }[]): number {
  let sf = Math.max(-MAX_SCALE_FACTOR, preferred);
  for (const { def, value } of values) sf = coarsenToFit(def, value, sf);
  return sf;
}

/** `sf`, or the next coarser one at which `value` fits the point's type (a coarser factor only shrinks raw values). */
export function coarsenToFit(def: PointDef, value: number, sf: number): number {
  const { min, max } = rawRange(def.type);
  let chosen = sf;
  for (let raw = scaledRaw(value, chosen); raw < min || raw > max; raw = scaledRaw(value, chosen)) {
    chosen += 1;
    if (chosen > MAX_SCALE_FACTOR) throw new SunSpecValueError(`no scale factor up to ${MAX_SCALE_FACTOR} fits ${value} in a ${def.type}`);
  }
  return chosen;
}

/** SunSpec 802 WarrDt counts whole days from 2000-01-01 (UTC). */
const WARRANTY_EPOCH_MS = Date.UTC(2000, 0, 1);
const DAY_MS = 86_400_000;

/** WarrDt days → `YYYY-MM-DD`. */
export function warrantyDaysToDate(days: number): string {
  return new Date(WARRANTY_EPOCH_MS + days * DAY_MS).toISOString().slice(0, 10);
}

/** A date (ms since the Unix epoch) → WarrDt days. */
export function warrantyDaysOf(epochMs: number): number {
  return Math.round((epochMs - WARRANTY_EPOCH_MS) / DAY_MS);
}
