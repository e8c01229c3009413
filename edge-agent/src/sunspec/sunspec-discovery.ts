import {
  MODEL_BATTERY,
  MODEL_COMMON,
  MODEL_LITHIUM_BANK,
  MODEL_LITHIUM_MODULE,
  MODEL_LITHIUM_STRING,
  SUNSPEC_BASE_ADDRESSES,
  SUNSPEC_END_MODEL_ID,
  SUNSPEC_MARKER,
} from "@bms/shared/sunspec/models";
import type { RegisterTransport } from "../transports/register-transport";
import { DeviceUnreachableError, isConnectionError, ModbusExceptionError } from "../transports/transport-errors";
import { SunSpecDiscoveryError } from "./sunspec-errors";

export interface ModelLocation {
  id: number;
  /** Address of the model's ID register. */
  address: number;
  /** L: registers after the length register. */
  length: number;
}

export interface SunSpecMap {
  baseAddress: number;
  models: ModelLocation[];
  /** Model 1 (identity), when the device has one. */
  common?: ModelLocation;
  battery: ModelLocation;
  /** Model 803 (lithium-ion bank), on a bank of several strings. */
  bank?: ModelLocation;
  /** Every model 804 (lithium-ion string), in chain order. */
  strings: ModelLocation[];
  /** Every model 805, in chain order. */
  modules: ModelLocation[];
}

export interface DiscoveryOptions {
  /** @default SUNSPEC_BASE_ADDRESSES (40000, 0, 50000) */
  baseAddresses?: readonly number[];
  /** A hostile or broken device must not keep us walking: stop after this many models. @default 64 */
  maxModels?: number;
}

/**
 * Finds the SunSpec map of one unit: the `SunS` marker at the first base address that has it, then
 * the model chain (ID, L; next at address + 2 + L) up to the end model 0xFFFF. Requires a battery
 * (802) and at least one lithium-ion module (805); a bank of several strings adds 803 and 804s. Connection errors propagate unchanged so the
 * caller can back off; everything else is a SunSpecDiscoveryError naming what was wrong.
 */
export async function discoverSunSpec(transport: RegisterTransport, unitId: number, options: DiscoveryOptions = {}): Promise<SunSpecMap> {
  const bases = options.baseAddresses ?? SUNSPEC_BASE_ADDRESSES;
  const maxModels = options.maxModels ?? 64;
  const base = await findMarker(transport, unitId, bases);
  const models: ModelLocation[] = [];
  let address = base + 2;
  for (;;) {
    if (models.length >= maxModels) {
      throw new SunSpecDiscoveryError(`model chain at base ${base} has more than ${maxModels} models without an end model (0xFFFF): refusing to walk further`);
    }
    if (address + 1 > 0xffff) throw new SunSpecDiscoveryError(`model chain at base ${base} runs past register 65535 without an end model`);
    let header: number[];
    try {
      header = await transport.readHoldingRegisters(unitId, address, 2);
    } catch (err) {
      // Some devices omit the end model: the chain then ends where the map does.
      if (err instanceof ModbusExceptionError && models.length > 0) break;
      if (err instanceof ModbusExceptionError) throw new SunSpecDiscoveryError(`no model header after the SunS marker at ${base}: ${err.message}`);
      throw err;
    }
    const [id = SUNSPEC_END_MODEL_ID, length = 0] = header;
    if (id === SUNSPEC_END_MODEL_ID) break;
    if (id === 0) throw new SunSpecDiscoveryError(`model ID 0 at ${address}: not a SunSpec model chain`);
    if (address + 2 + length > 0x10000) throw new SunSpecDiscoveryError(`model ${id} at ${address} claims ${length} registers, past register 65535`);
    models.push({ id, address, length });
    address += 2 + length;
  }
  return checkModels(base, models);
}

async function findMarker(transport: RegisterTransport, unitId: number, bases: readonly number[]): Promise<number> {
  let connectionError: unknown;
  for (const base of bases) {
    try {
      const words = await transport.readHoldingRegisters(unitId, base, 2);
      if (words[0] === SUNSPEC_MARKER[0] && words[1] === SUNSPEC_MARKER[1]) return base;
    } catch (err) {
      // Nobody there at all: no point trying the other addresses.
      if (err instanceof DeviceUnreachableError) throw err;
      if (isConnectionError(err)) connectionError ??= err;
      else if (!(err instanceof ModbusExceptionError)) throw err;
    }
  }
  if (connectionError) throw connectionError;
  throw new SunSpecDiscoveryError(`no SunSpec marker "SunS" at base address ${bases.join(", ")}: is this a SunSpec device, and is the unit ID right?`);
}

function checkModels(baseAddress: number, models: ModelLocation[]): SunSpecMap {
  const found = models.map((m) => m.id).join(", ") || "none";
  const battery = models.find((m) => m.id === MODEL_BATTERY.id);
  if (!battery) throw new SunSpecDiscoveryError(`no battery model 802 in the chain (models found: ${found})`);
  if (battery.length < MODEL_BATTERY.length) throw new SunSpecDiscoveryError(`model 802 has L = ${battery.length}, expected ${MODEL_BATTERY.length}`);
  const modules = models.filter((m) => m.id === MODEL_LITHIUM_MODULE.id);
  if (modules.length === 0)
    throw new SunSpecDiscoveryError(`no lithium-ion module model 805 in the chain (models found: ${found}): cell voltages cannot be read`);
  const short = modules.find((m) => m.length < MODEL_LITHIUM_MODULE.length);
  if (short) throw new SunSpecDiscoveryError(`model 805 at ${short.address} has L = ${short.length}, less than the fixed ${MODEL_LITHIUM_MODULE.length}`);
  const strings = models.filter((m) => m.id === MODEL_LITHIUM_STRING.id);
  const shortString = strings.find((m) => m.length < MODEL_LITHIUM_STRING.length);
  if (shortString) {
    throw new SunSpecDiscoveryError(`model 804 at ${shortString.address} has L = ${shortString.length}, less than the fixed ${MODEL_LITHIUM_STRING.length}`);
  }
  const banks = models.filter((m) => m.id === MODEL_LITHIUM_BANK.id);
  if (banks.length > 1) throw new SunSpecDiscoveryError(`${banks.length} bank models 803 in one chain: one device is one bank`);
  const bank = banks[0];
  if (bank && bank.length < MODEL_LITHIUM_BANK.length) {
    throw new SunSpecDiscoveryError(`model 803 at ${bank.address} has L = ${bank.length}, less than the fixed ${MODEL_LITHIUM_BANK.length}`);
  }
  const common = models.find((m) => m.id === MODEL_COMMON.id && m.length >= MODEL_COMMON.length - 1);
  return { baseAddress, models, battery, strings, modules, ...(bank ? { bank } : {}), ...(common ? { common } : {}) };
}
