import type { GroupPointName, ModelDef, PointDef, PointName } from "./model-types";
import { SUNSPEC_END_MODEL_ID, SUNSPEC_MARKER } from "./models";
import { coarsenToFit, encodeRawInto, encodeText, MAX_SCALE_FACTOR, NOT_IMPLEMENTED, SunSpecValueError, scaledRaw } from "./register-codec";

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

type Values = Partial<Record<string, PointValue>>;
type Slot = readonly [name: string, def: PointDef];

/** What encoding a model needs, worked out once per definition. */
interface Plan {
  fixed: readonly Slot[];
  group: readonly Slot[];
  /** Each scale factor with the points it scales, in the fixed block and in the group. */
  scaleFactors: readonly { name: string; def: PointDef; fixed: readonly Slot[]; group: readonly Slot[] }[];
}

const plans = new WeakMap<ModelDef, Plan>();

function planOf(model: ModelDef): Plan {
  let plan = plans.get(model);
  if (!plan) {
    const fixed = Object.entries(model.points);
    const group = Object.entries(model.group?.points ?? {});
    const scaleFactors = fixed
      .filter(([, def]) => def.type === "sunssf")
      .map(([name, def]) => ({ name, def, fixed: fixed.filter(([, d]) => d.sf === name), group: group.filter(([, d]) => d.sf === name) }));
    plan = { fixed, group, scaleFactors };
    plans.set(model, plan);
  }
  return plan;
}

function checkNames(model: ModelDef, points: Values, groups: readonly Values[]): void {
  for (const name of Object.keys(points)) if (!Object.hasOwn(model.points, name)) throw new SunSpecValueError(`model ${model.id} has no point ${name}`);
  if (groups.length > 0 && !model.group) throw new SunSpecValueError(`model ${model.id} has no repeating group`);
  for (const values of groups) {
    for (const name of Object.keys(values)) {
      if (!Object.hasOwn(model.group?.points ?? {}, name)) throw new SunSpecValueError(`model ${model.id} has no repeating point ${name}`);
    }
  }
}

/** Every scale factor: as given, else the finest (not finer than preferred) at which its values and headroom fit; null when not implemented. */
function scaleFactors(plan: Plan, image: ModelImage<ModelDef>, points: Values, groups: readonly Values[]): Map<string, number | null> {
  const out = new Map<string, number | null>();
  for (const s of plan.scaleFactors) {
    const given = points[s.name];
    if (typeof given === "number" || given === null) {
      out.set(s.name, given);
      continue;
    }
    const choice = image.scale?.[s.name];
    let sf = Math.max(-MAX_SCALE_FACTOR, choice?.preferred ?? 0);
    let scales = false;
    for (const [name, def] of s.fixed) {
      const value = points[name];
      if (typeof value !== "number") continue;
      scales = true;
      sf = coarsenToFit(def, value, sf);
    }
    for (const values of groups) {
      for (const [name, def] of s.group) {
        const value = values[name];
        if (typeof value !== "number") continue;
        scales = true;
        sf = coarsenToFit(def, value, sf);
      }
    }
    const user = s.fixed[0] ?? s.group[0];
    if (choice?.headroom !== undefined && user) sf = coarsenToFit(user[1], choice.headroom, sf);
    out.set(s.name, scales || s.def.mandatory ? sf : null);
  }
  return out;
}

function notImplementedInto(regs: number[], at: number, def: PointDef): void {
  if (def.type === "string") {
    regs.fill(0, at, at + def.size);
    return;
  }
  const raw = NOT_IMPLEMENTED[def.type];
  if (def.size === 2) {
    regs[at] = (raw >>> 16) & 0xffff;
    regs[at + 1] = raw & 0xffff;
  } else regs[at] = raw;
}

function labelOf(model: ModelDef, name: string, index: number | undefined): string {
  return `model ${model.id} ${name}${index === undefined ? "" : `[${index}]`}`;
}

/** Writes one point at `at`; an error names the model, the point and its group instance. */
function putPoint(
  regs: number[],
  at: number,
  point: PointDef,
  value: PointValue | undefined,
  sfs: Map<string, number | null>,
  model: ModelDef,
  name: string,
  index?: number,
): void {
  if (value === undefined || value === null) notImplementedInto(regs, at, point);
  else if (typeof value === "string") {
    if (point.type !== "string") throw new SunSpecValueError(`${labelOf(model, name, index)} is a ${point.type}, not text`);
    const words = encodeText(value, point.size);
    for (let i = 0; i < words.length; i++) regs[at + i] = words[i] ?? 0;
  } else {
    let raw = value;
    if (point.sf && point.type !== "sunssf") {
      const sf = sfs.get(point.sf);
      if (sf === undefined || sf === null) throw new SunSpecValueError(`${labelOf(model, name, index)}: its scale factor ${point.sf} is not implemented`);
      raw = scaledRaw(value, sf);
    }
    try {
      encodeRawInto(regs, at, point, raw, "");
    } catch (err) {
      // The label is built only for an error: encoding runs on every Modbus read.
      if (err instanceof SunSpecValueError) throw new SunSpecValueError(`${labelOf(model, name, index)}${err.message}`);
      throw err;
    }
  }
}

/**
 * One model block, `2 + L` registers from its ID register: every point the image gives, encoded
 * with the definition's type and checked against its range and symbols; every other point "not
 * implemented" (pads 0x8000). Scale factors are chosen so that no value saturates.
 */
export function encodeModel<M extends ModelDef>(model: M, image: ModelImage<M>): number[] {
  const def: ModelDef = model;
  const img = image as ModelImage<ModelDef>;
  const points: Values = img.points;
  const groups: readonly Values[] = img.groups ?? [];
  checkNames(def, points, groups);
  const plan = planOf(def);
  const length = def.length + (def.group ? def.group.size * groups.length : 0);
  const regs = new Array<number>(2 + length);
  const sfs = scaleFactors(plan, img, points, groups);
  for (const [name, point] of plan.fixed) {
    const value = name === "ID" ? def.id : name === "L" ? length : point.type === "sunssf" ? (sfs.get(name) ?? null) : points[name];
    putPoint(regs, point.offset, point, value, sfs, def, name);
  }
  const group = def.group;
  for (let i = 0; group && i < groups.length; i++) {
    const base = group.offset + group.size * i;
    const values = groups[i] ?? {};
    for (const [name, point] of plan.group) putPoint(regs, base + point.offset, point, values[name], sfs, def, name, i);
  }
  return regs;
}

/** A whole SunSpec map from its base address: the `SunS` marker, the model blocks in order, the end model (ID 0xFFFF, L 0). */
export function encodeSunSpecMap(blocks: readonly (readonly number[])[]): number[] {
  const out = new Array<number>(blocks.reduce((n, block) => n + block.length, SUNSPEC_MARKER.length + 2));
  out[0] = SUNSPEC_MARKER[0];
  out[1] = SUNSPEC_MARKER[1];
  let at = SUNSPEC_MARKER.length;
  for (const block of blocks) for (let i = 0; i < block.length; i++) out[at++] = block[i] ?? 0;
  out[at] = SUNSPEC_END_MODEL_ID;
  out[at + 1] = 0;
  return out;
}
