import type { PackSample } from "@bms/shared";

/**
 * The time-series layout (docs/time-series.md): per sample one `pack` line with the pack's values
 * and cell statistics, one `cells` line with every cell voltage (`v1`…) and temperature (`t1`…,
 * numbered from 1 as on the device label) as fields, and a `bms_alarm` line per active BMS code.
 * Two lines for a sample without alarms, whatever its cell count: 33 lines per 16-cell sample
 * before (a line per cell and per sensor). Tagged by site and pack; numeric fields only; the
 * timestamp is the sample's ts in ms.
 *
 * Site and pack IDs match `^[A-Za-z0-9_-]{1,64}$` (the topic parser checked them) and alarm codes
 * come from a fixed vocabulary, so tag values need no escaping; `tagValue` still escapes defensively.
 */

function tagValue(value: string): string {
  return value.replace(/[ ,=\\]/g, (c) => `\\${c}`);
}

/**
 * Floats everywhere (no `i` suffix): a field's type can never change in InfluxDB, and VictoriaMetrics
 * does not care. String() writes whole numbers without a point, as line protocol wants them, and
 * never in exponent form within the schema's bounds (below 1e21).
 */
function fieldValue(value: number): string {
  return String(value);
}

/** The optional pack fields: sample key → field name. Absent ones are not written. */
const OPTIONAL_PACK_FIELDS = [
  ["soh", "soh"],
  ["remainingCapacity", "remaining_capacity"],
  ["cycleCount", "cycle_count"],
  ["chargeCurrentLimit", "charge_current_limit"],
  ["dischargeCurrentLimit", "discharge_current_limit"],
  ["chargeVoltageLimit", "charge_voltage_limit"],
  ["dischargeVoltageLimit", "discharge_voltage_limit"],
  ["insulationResistance", "insulation_resistance"],
] as const satisfies ReadonlyArray<readonly [keyof PackSample, string]>;

/** `v1=`, `t4=`…: made once per position (a sample has at most 1024 of each). */
const FIELD_NAMES = { v: [] as string[], t: [] as string[] };
function fieldName(prefix: "v" | "t", index: number): string {
  const names = FIELD_NAMES[prefix];
  let name = names[index];
  if (name === undefined) {
    name = `${prefix}${index + 1}=`;
    names[index] = name;
  }
  return name;
}

function extremes(values: readonly number[]): { min: number; max: number } | null {
  if (values.length === 0) return null;
  let min = values[0] as number;
  let max = min;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

/** InfluxDB line protocol (precision ms) for one validated sample. */
export function sampleToLines(siteId: string, packId: string, sample: PackSample): string[] {
  const series = `,site=${tagValue(siteId)},pack=${tagValue(packId)}`;
  const ts = ` ${sample.ts}`;
  let pack = `pack${series} voltage=${fieldValue(sample.packVoltage)},current=${fieldValue(sample.current)},soc=${fieldValue(sample.soc)}`;
  for (const [key, name] of OPTIONAL_PACK_FIELDS) {
    const value = sample[key];
    if (value !== undefined) pack += `,${name}=${fieldValue(value)}`;
  }
  pack += `,seq=${fieldValue(sample.seq)}`;
  // A CAN BMS reports no cells: no statistics then (line protocol cannot carry Infinity).
  const cells = extremes(sample.cellVoltages);
  if (cells) pack += `,cell_voltage_min=${fieldValue(cells.min)},cell_voltage_max=${fieldValue(cells.max)}`;
  const temps = extremes(sample.cellTemperatures);
  if (temps) pack += `,temperature_min=${fieldValue(temps.min)},temperature_max=${fieldValue(temps.max)}`;
  const lines = [pack + ts];

  // One part per field, joined once: this runs for every sample, and piecewise concatenation
  // allocated several times the line's size.
  const cellCount = sample.cellVoltages.length;
  const parts: string[] = new Array(cellCount + sample.cellTemperatures.length);
  for (let i = 0; i < cellCount; i++) parts[i] = fieldName("v", i) + fieldValue(sample.cellVoltages[i] as number);
  for (let i = 0; i < sample.cellTemperatures.length; i++) parts[cellCount + i] = fieldName("t", i) + fieldValue(sample.cellTemperatures[i] as number);
  if (parts.length > 0) lines.push(`cells${series} ${parts.join(",")}${ts}`);

  if (sample.bmsAlarms !== undefined && sample.bmsAlarms.length > 0) {
    for (const code of new Set(sample.bmsAlarms)) lines.push(`bms_alarm${series},code=${code} active=1${ts}`);
  }
  return lines;
}
