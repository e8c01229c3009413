import type { PackSample } from "@bms/shared";

/**
 * The time-series layout (README.md): measurements `pack`, `cell`, `sensor`, `bms_alarm`,
 * tagged by site and pack, numeric fields only, timestamp = sample ts in ms.
 * Site and pack IDs match `^[A-Za-z0-9_-]{1,64}$` (parseTopic checked them) and alarm codes come
 * from a fixed vocabulary, so tag values need no escaping; `tagValue` still escapes defensively.
 */

function tagValue(value: string): string {
  return value.replace(/[ ,=\\]/g, (c) => `\\${c}`);
}

/** Floats everywhere (no `i` suffix): a field's type can never change in InfluxDB, and VictoriaMetrics does not care. */
function fieldValue(value: number): string {
  return Number.isInteger(value) ? value.toFixed(0) : String(value);
}

function line(measurement: string, tags: ReadonlyArray<readonly [string, string]>, fields: ReadonlyArray<readonly [string, number]>, ts: number): string {
  const tagText = tags.map(([k, v]) => `,${k}=${tagValue(v)}`).join("");
  const fieldText = fields.map(([k, v]) => `${k}=${fieldValue(v)}`).join(",");
  return `${measurement}${tagText} ${fieldText} ${ts}`;
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

/** InfluxDB line protocol (precision ms) for one validated sample. */
export function sampleToLines(siteId: string, packId: string, sample: PackSample): string[] {
  const packTags = [
    ["site", siteId],
    ["pack", packId],
  ] as const;
  const ts = sample.ts;
  const fields: Array<readonly [string, number]> = [
    ["voltage", sample.packVoltage],
    ["current", sample.current],
    ["soc", sample.soc],
  ];
  for (const [key, name] of OPTIONAL_PACK_FIELDS) {
    const value = sample[key];
    if (value !== undefined) fields.push([name, value]);
  }
  fields.push(["seq", sample.seq]);
  // A CAN BMS reports no cells: Math.min() of nothing is Infinity, which line protocol cannot carry.
  if (sample.cellVoltages.length > 0) {
    fields.push(["cell_voltage_min", Math.min(...sample.cellVoltages)]);
    fields.push(["cell_voltage_max", Math.max(...sample.cellVoltages)]);
  }
  if (sample.cellTemperatures.length > 0) fields.push(["temperature_max", Math.max(...sample.cellTemperatures)]);

  const lines = [line("pack", packTags, fields, ts)];
  sample.cellVoltages.forEach((voltage, index) => {
    lines.push(line("cell", [...packTags, ["cell", String(index)]], [["voltage", voltage]], ts));
  });
  sample.cellTemperatures.forEach((temperature, index) => {
    lines.push(line("sensor", [...packTags, ["sensor", String(index)]], [["temperature", temperature]], ts));
  });
  for (const code of new Set(sample.bmsAlarms ?? [])) {
    lines.push(line("bms_alarm", [...packTags, ["code", code]], [["active", 1]], ts));
  }
  return lines;
}
