import type { GroupPointName, ModelDef, PointDef, PointName } from "./model-types";
import { instancesIn } from "./models";
import { applyScale, decodeRawAt, decodeText, MAX_SCALE_FACTOR, SunSpecValueError } from "./register-codec";

/** Makes the error a reader throws (the edge agent passes its own decode error). */
export type ReadErrorFactory = (message: string) => Error;

const valueError: ReadErrorFactory = (message) => new SunSpecValueError(message);

/**
 * Reads the points of one model block as a device served it: `regs[0]` is the model's ID register.
 * "Not implemented" values come back as undefined; scaled points come back in engineering units
 * with their scale factor read from the same block. A register the block does not hold, or a scale
 * factor outside −10..10, throws the factory's error.
 * The block is not copied.
 */
export class ModelReader<M extends ModelDef> {
  constructor(
    readonly model: M,
    private readonly regs: readonly number[],
    private readonly error: ReadErrorFactory = valueError,
  ) {
    if (regs[0] !== model.id) throw error(`expected model ${model.id}, found ID ${regs[0]}`);
  }

  /** L as served. */
  get length(): number {
    return this.regs[1] ?? 0;
  }

  /** Group instances (strings, modules, cells) that L holds; throws when L does not fit the definition. */
  instances(): number {
    const count = instancesIn(this.model, this.length);
    if (count === undefined) {
      const group = this.model.group;
      const shape = group ? `${this.model.length} + ${group.size} × n` : String(this.model.length);
      throw this.error(`model ${this.model.id} has L = ${this.length}, which is not ${shape}`);
    }
    return count;
  }

  /** The definition and first register of a fixed point (no index) or of group instance `index`. */
  locate(name: string, index?: number): { def: PointDef; at: number } {
    const def = this.defOf(name, index);
    return { def, at: this.offsetOf(def, index) };
  }

  private defOf(name: string, index: number | undefined): PointDef {
    const def = index === undefined ? this.model.points[name] : this.model.group?.points[name];
    if (!def) throw new SunSpecValueError(`model ${this.model.id} has no ${index === undefined ? "" : "repeating "}point ${name}`);
    return def;
  }

  private offsetOf(def: PointDef, index: number | undefined): number {
    const group = this.model.group;
    return index === undefined || !group ? def.offset : group.offset + group.size * index + def.offset;
  }

  /** The first register of a point, checked to lie inside the block and inside L. */
  private checkedOffset(name: string, def: PointDef, index: number | undefined): number {
    const at = this.offsetOf(def, index);
    if (at + def.size > this.regs.length || at + def.size > 2 + this.length) {
      const where = index === undefined ? name : `${name}[${index}]`;
      throw this.error(`model ${this.model.id}: ${where} at offset ${at} is beyond the model (L = ${this.length})`);
    }
    return at;
  }

  /** The registers of a point. */
  words(name: string, index?: number): number[] {
    const def = this.defOf(name, index);
    const at = this.checkedOffset(name, def, index);
    return this.regs.slice(at, at + def.size);
  }

  /** Raw integer (signed where the type is), or undefined when not implemented. */
  raw(name: PointName<M> | GroupPointName<M>, index?: number): number | undefined {
    const def = this.defOf(name, index);
    return decodeRawAt(def, this.regs, this.checkedOffset(name, def, index));
  }

  /** Text of a string point, or undefined when not implemented (all NUL). */
  text(name: PointName<M>): string | undefined {
    const text = decodeText(this.words(name));
    return text === "" ? undefined : text;
  }

  /** A scale factor's value (checked to be within −10..10), or undefined when not implemented. */
  scaleFactor(name: string): number | undefined {
    // Read again for each point rather than cached: one register read costs less than a map per block.
    const def = this.defOf(name, undefined);
    const sf = decodeRawAt(def, this.regs, this.checkedOffset(name, def, undefined));
    if (sf !== undefined && Math.abs(sf) > MAX_SCALE_FACTOR) throw this.error(`model ${this.model.id}: scale factor ${name} = ${sf} is outside -10..10`);
    return sf;
  }

  /** Value × 10^SF, or undefined where the value or its scale factor is not implemented. */
  scaled(name: PointName<M> | GroupPointName<M>, index?: number): number | undefined {
    const def = this.defOf(name, index);
    if (!def.sf) throw new SunSpecValueError(`point ${name} of model ${this.model.id} has no scale factor`);
    const sf = this.scaleFactor(def.sf);
    const raw = decodeRawAt(def, this.regs, this.checkedOffset(name, def, index));
    return sf === undefined || raw === undefined ? undefined : applyScale(raw, sf);
  }

  /**
   * A repeating point's value × 10^SF in instances 0..count−1 (undefined where not implemented): one
   * definition lookup and one scale factor for them all (a module's cells share CellV_SF).
   */
  scaledInstances(name: GroupPointName<M>, count: number): (number | undefined)[] {
    const def = this.defOf(name, 0);
    if (!def.sf) throw new SunSpecValueError(`point ${name} of model ${this.model.id} has no scale factor`);
    const out = new Array<number | undefined>(count);
    if (count === 0) return out;
    this.checkedOffset(name, def, count - 1); // the last instance lies inside the block, so do the others
    const sf = this.scaleFactor(def.sf);
    for (let i = 0; i < count; i++) {
      const raw = sf === undefined ? undefined : decodeRawAt(def, this.regs, this.offsetOf(def, i));
      out[i] = sf === undefined || raw === undefined ? undefined : applyScale(raw, sf);
    }
    return out;
  }
}
