import type { GroupPointName, ModelDef, PointDef, PointName } from "./model-types";
import { SUNSPEC_END_MODEL_ID, SUNSPEC_MARKER } from "./models";
import { chooseScaleFactor, encodeRaw, encodeText, notImplementedWords, SunSpecValueError, scaledRaw } from "./register-codec";

/**
 * A point's value as the device has it: engineering units for scaled points (volts, amperes, %),
 * the raw integer for the others (enum, bitfield, count), text for strings; null (or absent) for
 * "not implemented".
 */
export type PointValue = number | string | null;

/** Per scale factor: the exponent the device prefers, and the largest magnitude it must be able to carry. */
export interface ScaleChoice {
  /** The finest exponent wanted (e.g. −2 for volts); a coarser one is chosen where values would not fit. */
  preferred: number;
  /** A magnitude to fit besides the values served now (a rating), so that the factor stays put while values move. */
  headroom?: number;
}

export interface ModelImage<M extends ModelDef> {
  /** Fixed-block points (ID and L are set from the definition and the group count). */
  points: Partial<Record<PointName<M>, PointValue>>;
  /** One entry per group instance (strings, modules, cells). */
  groups?: readonly Partial<Record<GroupPointName<M>, PointValue>>[];
  /** Scale factors chosen from the values they scale; a scale factor given in `points` wins. */
  scale?: Partial<Record<string, ScaleChoice>>;
}

type Entry = { name: string; def: PointDef; at: number; value: PointValue | undefined };
type Values = Partial<Record<string, PointValue>>;

function entries(model: ModelDef, image: ModelImage<ModelDef>): Entry[] {
  const points: Values = image.points;
  const fixed = Object.entries(model.points).map(([name, def]) => ({ name, def, at: def.offset, value: points[name] }));
  const group = model.group;
  const instances: readonly Values[] = image.groups ?? [];
  if (!group && instances.length > 0) throw new SunSpecValueError(`model ${model.id} has no repeating group`);
  const repeated = group
    ? instances.flatMap((values, i) =>
        Object.entries(group.points).map(([name, def]) => ({
          name: `${name}[${i}]`,
          def,
          at: group.offset + group.size * i + def.offset,
          value: values[name],
        })),
      )
    : [];
  for (const name of Object.keys(points)) if (!model.points[name]) throw new SunSpecValueError(`model ${model.id} has no point ${name}`);
  return [...fixed, ...repeated];
}

/** Chooses every scale factor the image does not fix, from the values it scales. */
function scaleFactors(model: ModelDef, image: ModelImage<ModelDef>, all: Entry[]): Map<string, number | null> {
  const out = new Map<string, number | null>();
  for (const [name, def] of Object.entries(model.points)) {
    if (def.type !== "sunssf") continue;
    const given = (image.points as Values)[name];
    if (typeof given === "number" || given === null) {
      out.set(name, given);
      continue;
    }
    const values = all.flatMap((e) => (e.def.sf === name && typeof e.value === "number" ? [{ def: e.def, value: e.value }] : []));
    const choice = image.scale?.[name];
    const headroom = choice?.headroom;
    const scaledDef = all.find((e) => e.def.sf === name)?.def;
    if (headroom !== undefined && scaledDef) values.push({ def: scaledDef, value: headroom });
    if (values.length === 0 && !def.mandatory) out.set(name, null);
    else out.set(name, values.length === 0 ? (choice?.preferred ?? 0) : chooseScaleFactor(choice?.preferred ?? 0, values));
  }
  return out;
}

/**
 * One model block, `2 + L` registers from its ID register: every point the image gives, encoded
 * with the definition's type and checked against its range and symbols; every other point "not
 * implemented" (pads 0x8000). Scale factors are chosen so that no value saturates.
 */
export function encodeModel<M extends ModelDef>(model: M, image: ModelImage<M>): number[] {
  const def: ModelDef = model;
  const img = image as ModelImage<ModelDef>;
  const all = entries(def, img);
  const length = def.length + (def.group ? def.group.size * (img.groups?.length ?? 0) : 0);
  const regs = new Array<number>(2 + length).fill(0);
  const sfs = scaleFactors(def, img, all);
  for (const entry of all) {
    const what = `model ${def.id} ${entry.name}`;
    let words: number[];
    if (entry.name === "ID") words = [def.id];
    else if (entry.name === "L") words = [length];
    else if (entry.def.type === "sunssf") words = encodeRaw(entry.def, sfs.get(entry.name) ?? null, what);
    else if (entry.value === undefined || entry.value === null) words = notImplementedWords(entry.def);
    else if (typeof entry.value === "string") {
      if (entry.def.type !== "string") throw new SunSpecValueError(`${what} is a ${entry.def.type}, not text`);
      words = encodeText(entry.value, entry.def.size);
    } else if (entry.def.sf) {
      const sf = sfs.get(entry.def.sf);
      if (sf === undefined || sf === null) throw new SunSpecValueError(`${what}: its scale factor ${entry.def.sf} is not implemented`);
      words = encodeRaw(entry.def, scaledRaw(entry.value, sf), what);
    } else words = encodeRaw(entry.def, entry.value, what);
    regs.splice(entry.at, words.length, ...words);
  }
  return regs;
}

/** A whole SunSpec map from its base address: the `SunS` marker, the model blocks in order, the end model (ID 0xFFFF, L 0). */
export function encodeSunSpecMap(blocks: readonly (readonly number[])[]): number[] {
  return [...SUNSPEC_MARKER, ...blocks.flat(), SUNSPEC_END_MODEL_ID, 0];
}
