import { ModelReader } from "./model-reader";
import type { GroupPointName, ModelDef, PointDef, PointName } from "./model-types";
import { pointAt } from "./models";
import { checkRaw, decodeRaw, encodeRaw, SunSpecValueError, scaledRaw } from "./register-codec";

/**
 * Writes of SunSpec points, both ends: a controller (the edge agent) encodes a value into the
 * registers of one point, a device (the simulator) decodes a Modbus write against the definition.
 */

/** Why a device refuses a write. Modbus: `address` → exception 2 (illegal data address), `value` → exception 3 (illegal data value). */
export type WriteRefusal = { kind: "address"; message: string } | { kind: "value"; message: string };

/** One point a write sets: its name, group instance (for repeating points) and raw integer. */
export interface PointWrite {
  name: string;
  index?: number;
  def: PointDef;
  raw: number;
}

/**
 * A Modbus write (function 6 or 16) of `words` at `offset` from the model's ID register, checked
 * against the definition: it must cover whole points, all read-write (else an `address` refusal:
 * the registers are not writable), each with an implemented value in its type's range and, for an
 * enum, one of its symbols (else a `value` refusal).
 */
export function decodeWrite(model: ModelDef, instances: number, offset: number, words: readonly number[]): { points: PointWrite[] } | WriteRefusal {
  const points: PointWrite[] = [];
  let at = offset;
  while (at < offset + words.length) {
    const found = pointAt(model, at, instances);
    if (!found) return { kind: "address", message: `model ${model.id} has no point at offset ${at}` };
    const label = found.index === undefined ? found.name : `${found.name}[${found.index}]`;
    if (found.start !== at || at + found.def.size > offset + words.length) {
      return { kind: "address", message: `the write covers part of ${label} (${found.def.size} registers from offset ${found.start})` };
    }
    if (found.def.access !== "RW") return { kind: "address", message: `${label} of model ${model.id} is read-only` };
    const chunk = words.slice(at - offset, at - offset + found.def.size);
    const raw = found.def.type === "string" ? undefined : decodeRaw(found.def, chunk);
    if (raw === undefined) return { kind: "value", message: `${label} cannot be set to "not implemented"` };
    try {
      checkRaw(found.def, raw, label);
    } catch (err) {
      return { kind: "value", message: (err as Error).message };
    }
    points.push({ name: found.name, ...(found.index === undefined ? {} : { index: found.index }), def: found.def, raw });
    at += found.def.size;
  }
  return { points };
}

/** Registers to write for one point: where (offset from the model's ID register) and what. */
export interface EncodedWrite {
  offset: number;
  words: number[];
}

/**
 * The registers that set `name` (of group instance `index`) to `value`: engineering units for a
 * scaled point, converted with the scale factor the device serves in `block` (its registers as
 * read, from the ID register on); the raw integer otherwise. Throws SunSpecValueError for a
 * read-only point, a value out of range or not among an enum's symbols, or a scale factor the
 * device does not implement.
 */
export function encodeWrite<M extends ModelDef>(
  model: M,
  block: readonly number[],
  name: PointName<M> | GroupPointName<M>,
  value: number,
  index?: number,
): EncodedWrite {
  const reader = new ModelReader(model, block);
  const { def, at } = reader.locate(name, index);
  if (def.access !== "RW") throw new SunSpecValueError(`${name} of model ${model.id} is read-only`);
  let raw = value;
  if (def.sf) {
    const sf = reader.scaleFactor(def.sf);
    if (sf === undefined) throw new SunSpecValueError(`${name}: the device does not implement its scale factor ${def.sf}`);
    raw = scaledRaw(value, sf);
  }
  return { offset: at, words: encodeRaw(def, raw, `${name} of model ${model.id}`) };
}
