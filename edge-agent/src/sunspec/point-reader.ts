import type { PointDef } from "@bms/shared/sunspec/models";
import { applyScale, NOT_IMPLEMENTED, readString, readUint32, toInt16 } from "@bms/shared/sunspec/register-codec";
import { SunSpecDecodeError } from "./sunspec-errors";

/** SunSpec allows -10..10; anything else is a broken or hostile device (and 10^±300 breaks arithmetic). */
const MAX_ABS_SCALE_FACTOR = 10;

/**
 * Reads points of one model block (`regs[0]` = model ID register, offsets as in models.ts).
 * "Not implemented" sentinels come back as `undefined`, so they become absent fields.
 */
export class PointReader {
  constructor(
    private readonly regs: readonly number[],
    private readonly points: Readonly<Record<string, PointDef>>,
    private readonly model: string,
  ) {}

  private def(name: string): PointDef {
    const def = this.points[name];
    if (!def) throw new Error(`model ${this.model} has no point ${name}`);
    return def;
  }

  private word(offset: number): number {
    const w = this.regs[offset];
    if (w === undefined) throw new SunSpecDecodeError(`model ${this.model}: register at offset ${offset} is beyond the model`);
    return w;
  }

  /** Raw integer value (signed where the type is), or undefined when not implemented. */
  raw(name: string, base = 0): number | undefined {
    const def = this.def(name);
    const at = base + def.offset;
    switch (def.type) {
      case "uint16":
      case "enum16": {
        const w = this.word(at);
        return w === NOT_IMPLEMENTED.uint16 ? undefined : w;
      }
      case "int16":
      case "sunssf": {
        const w = this.word(at);
        return w === NOT_IMPLEMENTED.int16 ? undefined : toInt16(w);
      }
      case "uint32":
      case "bitfield32": {
        this.word(at + 1);
        const v = readUint32(this.regs, at);
        return v === NOT_IMPLEMENTED.uint32 ? undefined : v;
      }
      case "string":
        throw new Error(`point ${name} is a string`);
    }
  }

  text(name: string): string {
    const def = this.def(name);
    const size = def.size ?? 1;
    this.word(def.offset + size - 1);
    return readString(this.regs, def.offset, size);
  }

  /** Value × 10^SF, or undefined where the value or its scale factor is not implemented. */
  scaled(name: string, base = 0): number | undefined {
    const def = this.def(name);
    if (!def.sf) throw new Error(`point ${name} has no scale factor`);
    const sf = this.raw(def.sf);
    const value = this.raw(name, base);
    if (sf === undefined || value === undefined) return undefined;
    if (Math.abs(sf) > MAX_ABS_SCALE_FACTOR) throw new SunSpecDecodeError(`model ${this.model}: scale factor ${def.sf} = ${sf} is outside -10..10`);
    // applyScale wants the raw register for its sentinel check; both sentinels were handled above.
    return applyScale(value, sf, Number.NaN) ?? undefined;
  }
}
