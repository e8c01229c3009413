import type { PackSnapshot } from "../pack-model";
import type { PackTopology } from "./pack-topology";

/**
 * Where a pack's cells sit (strings in parallel, modules in series, cells flattened string →
 * module → cell) and the statistics the SunSpec bank models publish over them. 1-based indexes
 * are what SunSpec's *Str, *Mod and *Cell points carry.
 */

export interface Extremes {
  max: number;
  /** 0-based index of the (first) largest value. */
  maxIndex: number;
  min: number;
  minIndex: number;
  avg: number;
}

export function extremes(values: readonly number[]): Extremes {
  let maxIndex = 0;
  let minIndex = 0;
  let sum = 0;
  values.forEach((value, i) => {
    if (value > (values[maxIndex] ?? value)) maxIndex = i;
    if (value < (values[minIndex] ?? value)) minIndex = i;
    sum += value;
  });
  return { max: values[maxIndex] ?? 0, maxIndex, min: values[minIndex] ?? 0, minIndex, avg: values.length ? sum / values.length : 0 };
}

export function sum(values: readonly number[]): number {
  return values.reduce((total, v) => total + v, 0);
}

export function cellsPerString(topology: PackTopology): number {
  return topology.modulesPerString * topology.cellsPerModule;
}

/** 1-based string and module of a flattened cell index. */
export function cellPosition(topology: PackTopology, cellIndex: number): { string: number; module: number } {
  const perString = cellsPerString(topology);
  return { string: Math.floor(cellIndex / perString) + 1, module: Math.floor((cellIndex % perString) / topology.cellsPerModule) + 1 };
}

/** 1-based string and module of a flattened module index. */
export function modulePosition(topology: PackTopology, moduleIndex: number): { string: number; module: number } {
  return { string: Math.floor(moduleIndex / topology.modulesPerString) + 1, module: (moduleIndex % topology.modulesPerString) + 1 };
}

/** Values of string `s` (0-based) of a per-cell list. */
export function ofString<T>(topology: PackTopology, values: readonly T[], s: number): T[] {
  const perString = cellsPerString(topology);
  return values.slice(s * perString, (s + 1) * perString);
}

/** Values of module `g` (0-based, string-major) of a per-cell list. */
export function ofModule<T>(topology: PackTopology, values: readonly T[], g: number): T[] {
  return values.slice(g * topology.cellsPerModule, (g + 1) * topology.cellsPerModule);
}

/** Each module's temperature: its hottest sensor (what a BMS protects on), string-major. */
export function moduleTemperatures(topology: PackTopology, pack: PackSnapshot): number[] {
  return Array.from({ length: topology.strings * topology.modulesPerString }, (_, g) => Math.max(...ofModule(topology, pack.cellTemperatures, g)));
}

/** Each string's voltage: the sum of its cells. */
export function stringVoltages(topology: PackTopology, pack: PackSnapshot): number[] {
  return Array.from({ length: topology.strings }, (_, s) => sum(ofString(topology, pack.cellVoltages, s)));
}

/** Each string's current from the snapshot (+ charging); a snapshot without them shares the pack current equally. */
export function stringCurrents(topology: PackTopology, pack: PackSnapshot): number[] {
  const given: readonly number[] | undefined = Array.isArray(pack.stringCurrents) ? pack.stringCurrents : undefined;
  if (given && given.length === topology.strings) return [...given];
  return new Array<number>(topology.strings).fill(pack.current / topology.strings);
}
