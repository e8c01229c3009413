import { SUNSPEC_BASE_ADDRESS } from "@bms/shared";
import { encodeModel, encodeSunSpecMap } from "@bms/shared/sunspec/model-encoder";
import {
  MODEL_BATTERY,
  MODEL_COMMON,
  MODEL_LITHIUM_BANK,
  MODEL_LITHIUM_MODULE,
  MODEL_LITHIUM_STRING,
  type ModelDef,
  modelLength,
  SUNSPEC_MARKER,
} from "@bms/shared/sunspec/models";
import type { PackSnapshot } from "./pack-model";
import { type PackTopology, topologyOf } from "./protocols/pack-topology";
import { bankImage, moduleImage, stringImage } from "./protocols/sunspec-bank-images";
import { batteryImage, commonImage } from "./protocols/sunspec-battery-images";
import { defaultControls, type SunSpecControls } from "./protocols/sunspec-controls";
import type { PackIdentity } from "./simulated-device";

export { SCALE_FACTORS } from "./protocols/sunspec-battery-images";
export type { PackIdentity, PackTopology, SunSpecControls };

/**
 * Where each model starts (absolute 0-based addresses). One string of one module (the default) is
 * SunS, 1, 802, 805, end; more modules add an 805 each; more than one string adds 803 (bank) after
 * 802 and one 804 per string before the 805s.
 */
export interface SunSpecLayout {
  base: number;
  common: number;
  battery: number;
  /** Model 803, only for more than one string. */
  bank?: number;
  /** Model 804 per string, only for more than one string. */
  strings: number[];
  /** Model 805 per module, string-major. */
  modules: number[];
  /** The first 805 (kept for callers that know one module). */
  module: number;
  end: number;
  /** Registers from `base` through the end model's length register. */
  length: number;
  topology: PackTopology;
}

export function sunspecLayout(cellCount: number, base = SUNSPEC_BASE_ADDRESS, topology?: PackTopology): SunSpecLayout {
  const topo = topology ?? { strings: 1, modulesPerString: 1, cellsPerModule: cellCount };
  if (topo.strings * topo.modulesPerString * topo.cellsPerModule !== cellCount) {
    throw new RangeError(`topology ${topo.strings}×${topo.modulesPerString}×${topo.cellsPerModule} does not hold ${cellCount} cells`);
  }
  const common = base + SUNSPEC_MARKER.length;
  const battery = common + 2 + modelLength(MODEL_COMMON);
  let next = battery + 2 + modelLength(MODEL_BATTERY);
  let bank: number | undefined;
  const strings: number[] = [];
  if (topo.strings > 1) {
    bank = next;
    next += 2 + modelLength(MODEL_LITHIUM_BANK, topo.strings);
    for (let s = 0; s < topo.strings; s++) {
      strings.push(next);
      next += 2 + modelLength(MODEL_LITHIUM_STRING, topo.modulesPerString);
    }
  }
  const modules: number[] = [];
  for (let m = 0; m < topo.strings * topo.modulesPerString; m++) {
    modules.push(next);
    next += 2 + modelLength(MODEL_LITHIUM_MODULE, topo.cellsPerModule);
  }
  return {
    base,
    common,
    battery,
    ...(bank === undefined ? {} : { bank }),
    strings,
    modules,
    module: modules[0] ?? next,
    end: next,
    length: next + 2 - base,
    topology: topo,
  };
}

/** The layout a snapshot needs (its topology, or one string of one module). */
export function sunspecLayoutFor(snapshot: PackSnapshot, base = SUNSPEC_BASE_ADDRESS): SunSpecLayout {
  return sunspecLayout(snapshot.cellVoltages.length, base, topologyOf(snapshot));
}

/** One model of a layout: where it starts, its definition, its group instances and (804) its string. */
export interface PlacedModel {
  address: number;
  model: ModelDef;
  instances: number;
  /** 0-based string of an 804. */
  string?: number;
}

/** Every model of a layout, in chain order. */
export function sunspecModels(layout: SunSpecLayout): PlacedModel[] {
  const t = layout.topology;
  return [
    { address: layout.common, model: MODEL_COMMON, instances: 0 },
    { address: layout.battery, model: MODEL_BATTERY, instances: 0 },
    ...(layout.bank === undefined ? [] : [{ address: layout.bank, model: MODEL_LITHIUM_BANK, instances: t.strings }]),
    ...layout.strings.map((address, s) => ({ address, model: MODEL_LITHIUM_STRING, instances: t.modulesPerString, string: s })),
    ...layout.modules.map((address) => ({ address, model: MODEL_LITHIUM_MODULE, instances: t.cellsPerModule })),
  ];
}

/**
 * The pack's registers from `layout.base` on: SunS, model 1, model 802, [803, 804 per string],
 * 805 per module, end model, encoded with the shared codec from the model table. Index 0 is
 * address `layout.base`. `controls` are what a controller has written (defaults when none).
 */
export function encodePackRegisters(layout: SunSpecLayout, identity: PackIdentity, pack: PackSnapshot, controls?: SunSpecControls): number[] {
  const t = layout.topology;
  const written = controls ?? defaultControls(t.strings);
  const blocks = [encodeModel(MODEL_COMMON, commonImage(identity)), encodeModel(MODEL_BATTERY, batteryImage(identity, pack, t, written))];
  if (layout.bank !== undefined) blocks.push(encodeModel(MODEL_LITHIUM_BANK, bankImage(pack, t, written)));
  layout.strings.forEach((_, s) => {
    blocks.push(encodeModel(MODEL_LITHIUM_STRING, stringImage(pack, t, written, s)));
  });
  layout.modules.forEach((_, g) => {
    blocks.push(encodeModel(MODEL_LITHIUM_MODULE, moduleImage(identity, pack, t, g)));
  });
  return encodeSunSpecMap(blocks);
}
