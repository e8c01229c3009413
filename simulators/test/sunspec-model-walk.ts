import { ModelReader } from "@bms/shared/sunspec/model-reader";
import { instancesIn, type ModelDef, modelDefinition, type PointDef, SUNSPEC_END_MODEL_ID, SUNSPEC_MARKER } from "@bms/shared/sunspec/models";
import { checkRaw, decodeRaw, decodeText, NOT_IMPLEMENTED } from "@bms/shared/sunspec/register-codec";
import { expect } from "vitest";

/** One model as a client finds it: where, its definition, L, group instances and a reader. */
export interface WalkedModel {
  address: number;
  def: ModelDef;
  length: number;
  instances: number;
  regs: number[];
  reader: ModelReader<ModelDef>;
}

/** Reads `count` registers from `address` (a client's read, in requests of at most 125). */
export type ReadRegisters = (address: number, count: number) => Promise<number[]>;

/** Walks the map from `base` as a SunSpec client does (marker, then ID/L headers up to 0xFFFF), reading each model whole. */
export async function walkSunSpec(read: ReadRegisters, base = 40000): Promise<WalkedModel[]> {
  expect(await read(base, 2)).toEqual([...SUNSPEC_MARKER]);
  const models: WalkedModel[] = [];
  let address = base + 2;
  for (let i = 0; i < 64; i++) {
    const [id = 0, length = 0] = await read(address, 2);
    if (id === SUNSPEC_END_MODEL_ID) {
      expect(length, "end model L").toBe(0);
      return models;
    }
    const def = modelDefinition(id);
    if (!def) throw new Error(`model ${id} at ${address} is not in the model table`);
    const instances = instancesIn(def, length);
    expect(instances, `L = ${length} of model ${id} fits its definition`).toBeDefined();
    const regs = await read(address, 2 + length);
    models.push({ address, def, length, instances: instances ?? 0, regs, reader: new ModelReader(def, regs) });
    address += 2 + length;
  }
  throw new Error("no end model after 64 models");
}

function checkPoint(model: WalkedModel, name: string, def: PointDef, at: number): void {
  const what = `model ${model.def.id} ${name} (offset ${at})`;
  const words = model.regs.slice(at, at + def.size);
  expect(words, what).toHaveLength(def.size);
  if (name === "ID") expect(words[0], what).toBe(model.def.id);
  if (name === "L") expect(words[0], what).toBe(model.length);
  if (def.type === "pad") {
    expect(words, `${what}: pad`).toEqual([NOT_IMPLEMENTED.pad]);
    return;
  }
  if (def.type === "string") {
    const text = decodeText(words);
    expect(text, `${what}: printable ASCII`).toMatch(/^[\x20-\x7e]*$/);
    const bytes = words.flatMap((w) => [w >> 8, w & 0xff]);
    const nul = bytes.indexOf(0);
    if (nul >= 0)
      expect(
        bytes.slice(nul).every((b) => b === 0),
        `${what}: NUL padded`,
      ).toBe(true);
    if (def.mandatory) expect(text, `${what}: mandatory`).not.toBe("");
    return;
  }
  const raw = decodeRaw(def, words);
  if (raw === undefined) {
    expect(def.mandatory, `${what}: a mandatory point is "not implemented"`).toBe(false);
    return;
  }
  expect(() => checkRaw(def, raw, what)).not.toThrow();
  if (def.sf) {
    const sf = model.reader.scaleFactor(def.sf);
    expect(sf, `${what}: its scale factor ${def.sf} is implemented`).toBeDefined();
  }
}

/**
 * Every point of every group instance of the model against its definition: ID and L, type range,
 * enum symbols and defined bits, "not implemented" only where the point is optional, pads 0x8000,
 * strings NUL padded, an implemented scale factor (−10..10) behind every scaled value, and the
 * group count point equal to the instances L holds.
 */
export function checkAgainstDefinition(model: WalkedModel): void {
  for (const [name, def] of Object.entries(model.def.points)) checkPoint(model, name, def, def.offset);
  const group = model.def.group;
  if (!group) return;
  const counted = group.count === 0 ? model.reader.raw("NCell") : model.reader.raw(group.count);
  expect(counted, `model ${model.def.id}: the count of ${group.name} equals the instances L holds`).toBe(model.instances);
  for (let i = 0; i < model.instances; i++) {
    for (const [name, def] of Object.entries(group.points)) checkPoint(model, `${name}[${i}]`, def, group.offset + group.size * i + def.offset);
  }
}
