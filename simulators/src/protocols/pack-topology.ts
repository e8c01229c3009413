import type { PackSnapshot } from "../pack-model";

/** How a pack's cells are arranged: cells are flattened string → module → cell. */
export interface PackTopology {
  strings: number;
  modulesPerString: number;
  cellsPerModule: number;
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value >= 1 ? value : undefined;
}

/**
 * The snapshot's topology, or one string of one module holding every cell when the snapshot has
 * none (or one that does not match its cell count): the layout every pack had before topologies.
 */
export function topologyOf(snapshot: PackSnapshot): PackTopology {
  const cells = Math.max(1, snapshot.cellVoltages.length);
  const single: PackTopology = { strings: 1, modulesPerString: 1, cellsPerModule: cells };
  if (!("topology" in snapshot)) return single;
  const given: unknown = snapshot.topology;
  if (typeof given !== "object" || given === null) return single;
  const strings = positiveInteger(Reflect.get(given, "strings"));
  const modulesPerString = positiveInteger(Reflect.get(given, "modulesPerString"));
  const cellsPerModule = positiveInteger(Reflect.get(given, "cellsPerModule"));
  if (!strings || !modulesPerString || !cellsPerModule || strings * modulesPerString * cellsPerModule !== cells) return single;
  return { strings, modulesPerString, cellsPerModule };
}

/** A numeric snapshot field that only some models report (read without assuming it exists). */
export function optionalNumberOf(snapshot: PackSnapshot, field: string): number | undefined {
  const value: unknown = Reflect.get(snapshot, field);
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** A snapshot's optional insulation resistance in kΩ, when the model reports one. */
export function insulationResistanceOf(snapshot: PackSnapshot): number | undefined {
  return optionalNumberOf(snapshot, "insulationResistanceKOhm") ?? optionalNumberOf(snapshot, "insulationResistance");
}
