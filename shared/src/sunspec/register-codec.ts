/**
 * SunSpec register encoding: big-endian words, 32-bit values high word first, strings two ASCII
 * characters per register, NUL padded. "Not implemented" sentinels per the SunSpec spec.
 */
export const NOT_IMPLEMENTED = {
  int16: 0x8000,
  uint16: 0xffff,
  uint32: 0xffffffff,
  sunssf: 0x8000,
} as const;

export function toInt16(word: number): number {
  return word & 0x8000 ? word - 0x10000 : word;
}

export function fromInt16(value: number): number {
  return value < 0 ? (value + 0x10000) & 0xffff : value & 0xffff;
}

export function readUint32(regs: ArrayLike<number>, offset: number): number {
  return (((regs[offset] ?? 0) << 16) >>> 0) + (regs[offset + 1] ?? 0);
}

export function writeUint32(regs: number[], offset: number, value: number): void {
  regs[offset] = (value >>> 16) & 0xffff;
  regs[offset + 1] = value & 0xffff;
}

export function readString(regs: ArrayLike<number>, offset: number, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) {
    const word = regs[offset + i] ?? 0;
    out += String.fromCharCode(word >> 8, word & 0xff);
  }
  return out.replace(/\0.*$/s, "").trim();
}

export function writeString(regs: number[], offset: number, length: number, text: string): void {
  for (let i = 0; i < length; i++) {
    const hi = text.charCodeAt(2 * i) || 0;
    const lo = text.charCodeAt(2 * i + 1) || 0;
    regs[offset + i] = ((hi & 0xff) << 8) | (lo & 0xff);
  }
}

/** value × 10^sf, or null where the value or its scale factor is "not implemented". */
export function applyScale(raw: number, sf: number, notImplemented: number): number | null {
  if (raw === notImplemented || sf === toInt16(NOT_IMPLEMENTED.sunssf)) return null;
  return sf === 0 ? raw : Number((raw * 10 ** sf).toFixed(Math.max(0, -sf)));
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
