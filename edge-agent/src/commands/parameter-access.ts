import { decodeProfileValue, encodeProfileValue, type ProfileParameter, registerSize } from "@bms/shared/device-profile";
import { ModelReader } from "@bms/shared/sunspec/model-reader";
import { modelDefinition } from "@bms/shared/sunspec/models";
import { encodeWrite } from "@bms/shared/sunspec/point-write";
import { SunSpecValueError } from "@bms/shared/sunspec/register-codec";
import type { SunSpecReader } from "../sunspec/sunspec-reader";
import type { WritableRegisterTransport } from "../transports/register-transport";
import { CommandRefusal } from "./command-refusal";

/** Where a device's parameters live: its registers, and (SunSpec devices) its discovered map. */
export interface ParameterBus {
  transport: WritableRegisterTransport;
  unitId: number;
  /** Set for a SunSpec device: SunSpec parameters are found through its map. */
  sunspec?: SunSpecReader;
}

const MAX_ABS_SCALE_FACTOR = 10;

/** The value in a register parameter's scale-factor register (undefined: none); a refusal when it is absurd. */
async function registerScaleFactor(bus: ParameterBus, p: ProfileParameter): Promise<number | undefined> {
  if (p.scaleFactorRegister === undefined) return undefined;
  const [word = 0] = await bus.transport.readHoldingRegisters(bus.unitId, p.scaleFactorRegister, 1);
  const sf = decodeProfileValue([word], { type: "sunssf" });
  if (sf === undefined || Math.abs(sf) > MAX_ABS_SCALE_FACTOR) {
    throw new CommandRefusal(`${p.name}: its scale-factor register ${p.scaleFactorRegister} holds ${sf ?? "not implemented"}: the value cannot be converted`);
  }
  return sf;
}

/** The SunSpec model block a parameter lives in (ID, L and points), read fresh. */
async function sunspecBlock(bus: ParameterBus, p: ProfileParameter): Promise<{ block: number[]; address: number }> {
  const ref = p.sunspec;
  const reader = bus.sunspec;
  const model = ref ? modelDefinition(ref.model) : undefined;
  if (!ref || !reader || !model) throw new CommandRefusal(`${p.name} is a SunSpec point, but this device is not read as SunSpec`);
  const map = reader.map ?? (await reader.discover());
  const location = map.models.find((m) => m.id === ref.model);
  if (!location) throw new CommandRefusal(`${p.name}: the device serves no model ${ref.model} (models found: ${map.models.map((m) => m.id).join(", ")})`);
  const block = await bus.transport.readHoldingRegisters(bus.unitId, location.address, 2 + location.length);
  return { block, address: location.address };
}

function sunspecValue(block: readonly number[], p: ProfileParameter): number | null {
  const ref = p.sunspec;
  const model = ref ? modelDefinition(ref.model) : undefined;
  if (!ref || !model) return null;
  const reader = new ModelReader(model, block);
  const def = model.points[ref.point];
  const value = def?.sf ? reader.scaled(ref.point) : reader.raw(ref.point);
  return value ?? null;
}

/** A parameter's value on the device now, in its unit; null when the device says it has none. */
export async function readParameter(bus: ParameterBus, p: ProfileParameter): Promise<number | null> {
  if (p.sunspec) return sunspecValue((await sunspecBlock(bus, p)).block, p);
  if (p.address === undefined || p.type === undefined) throw new CommandRefusal(`${p.name} names no register`);
  const sf = await registerScaleFactor(bus, p);
  const words = await bus.transport.readHoldingRegisters(bus.unitId, p.address, registerSize(p.type));
  return decodeProfileValue(words, { ...p, type: p.type }, sf) ?? null;
}

/**
 * Writes `value` (checked against the parameter's bounds by the caller) to the device: a register
 * parameter through the profile codec, a SunSpec point through the SunSpec codec (encodeWrite,
 * which also checks the point's type range). A value the registers cannot hold is refused before
 * anything is written.
 */
export async function writeParameter(bus: ParameterBus, p: ProfileParameter, value: number): Promise<void> {
  if (p.sunspec) {
    const { block, address } = await sunspecBlock(bus, p);
    const model = modelDefinition(p.sunspec.model);
    if (!model) throw new CommandRefusal(`${p.name}: SunSpec model ${p.sunspec.model} is unknown`);
    let encoded: { offset: number; words: number[] };
    try {
      encoded = encodeWrite(model, block, p.sunspec.point, value);
    } catch (err) {
      if (err instanceof SunSpecValueError) throw new CommandRefusal(`${p.name}: ${err.message}`);
      throw err;
    }
    await bus.transport.writeRegisters(bus.unitId, address + encoded.offset, encoded.words);
    return;
  }
  if (p.address === undefined || p.type === undefined) throw new CommandRefusal(`${p.name} names no register`);
  const spec = { ...p, type: p.type };
  const sf = await registerScaleFactor(bus, p);
  const words = encodeProfileValue(value, spec, sf);
  // The encoder clamps to the type's range: what would be written must read back as the value, to its resolution.
  const held = decodeProfileValue(words, spec, sf);
  const step = p.type === "float32" ? Math.abs(value) * 1e-6 : (p.scale ?? 10 ** (sf ?? p.scaleFactor ?? 0));
  if (held === undefined || Math.abs(held - value) > step / 2 + 1e-9) {
    throw new CommandRefusal(`${p.name}: ${value} cannot be held by its ${p.type} register (it would read ${held ?? "as missing"})`);
  }
  await bus.transport.writeRegisters(bus.unitId, p.address, words);
}
