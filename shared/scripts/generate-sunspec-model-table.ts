/**
 * Generates shared/src/sunspec/model-table.ts from the official SunSpec model definitions.
 *
 *   git clone https://github.com/sunspec/models /tmp/sunspec-models
 *   npx tsx shared/scripts/generate-sunspec-model-table.ts /tmp/sunspec-models/json \
 *     --commit $(git -C /tmp/sunspec-models rev-parse HEAD) > shared/src/sunspec/model-table.ts
 *   npx biome format --write shared/src/sunspec/model-table.ts
 *
 * The JSON files stay where they are: only the generated table is part of this repository.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { GroupDef, ModelDef, PointDef, PointType } from "../src/sunspec/model-types";

const MODELS = [1, 802, 803, 804, 805] as const;
const TYPES: readonly PointType[] = [
  "uint16",
  "int16",
  "acc16",
  "enum16",
  "bitfield16",
  "sunssf",
  "pad",
  "uint32",
  "int32",
  "acc32",
  "enum32",
  "bitfield32",
  "string",
];

interface JsonPoint {
  name: string;
  type: string;
  size: number;
  label?: string;
  units?: string;
  sf?: string;
  mandatory?: "M" | "O";
  access?: "R" | "RW";
  static?: "S" | "D";
  value?: number;
  symbols?: { name: string; value: number }[];
}

interface JsonGroup {
  name: string;
  label?: string;
  count?: number | string;
  points: JsonPoint[];
  groups?: JsonGroup[];
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

function pointType(type: string, where: string): PointType {
  const found = TYPES.find((t) => t === type);
  return found ?? fail(`${where}: type ${type} is not one the codec knows`);
}

function points(group: JsonGroup, where: string): { points: Record<string, PointDef>; size: number } {
  const out: Record<string, PointDef> = {};
  let offset = 0;
  for (const p of group.points) {
    const def: PointDef = {
      offset,
      type: pointType(p.type, `${where}.${p.name}`),
      size: p.size,
      ...(p.label ? { label: p.label } : {}),
      ...(p.units ? { units: p.units } : {}),
      ...(p.sf ? { sf: p.sf } : {}),
      mandatory: p.mandatory === "M",
      access: p.access ?? "R",
      ...(p.static === "S" ? { static: true } : {}),
      ...(p.value === undefined ? {} : { value: p.value }),
      ...(p.symbols?.length ? { symbols: Object.fromEntries(p.symbols.map((s) => [s.name, s.value])) } : {}),
    };
    out[p.name] = def;
    offset += p.size;
  }
  return { points: out, size: offset };
}

function model(dir: string, id: number): ModelDef {
  const json = JSON.parse(readFileSync(join(dir, `model_${id}.json`), "utf8")) as { id: number; group: JsonGroup };
  if (json.id !== id) fail(`model_${id}.json holds model ${json.id}`);
  const fixed = points(json.group, String(id));
  const nested = json.group.groups ?? [];
  if (nested.length > 1) fail(`model ${id} has ${nested.length} groups; the codec handles one`);
  const [inner] = nested;
  let group: GroupDef | undefined;
  if (inner) {
    if (inner.groups?.length) fail(`model ${id}: nested groups are not supported`);
    const { points: groupPoints, size } = points(inner, `${id}.${inner.name}`);
    const count = inner.count ?? 0;
    if (typeof count === "number" && count !== 0) fail(`model ${id}: a fixed group count (${count}) is not supported`);
    group = { name: inner.name, count, offset: fixed.size, size, points: groupPoints };
  }
  return {
    id,
    name: json.group.name,
    label: json.group.label ?? json.group.name,
    length: fixed.size - 2,
    points: fixed.points,
    ...(group ? { group } : {}),
  };
}

function literal(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (value && typeof value === "object") {
    const entries = Object.entries(value).map(([k, v]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: ${literal(v)}`);
    return `{ ${entries.join(", ")} }`;
  }
  return fail(`cannot write ${String(value)}`);
}

function pointLines(defs: Readonly<Record<string, PointDef>>, indent: string): string {
  return Object.entries(defs)
    .map(([name, def]) => `${indent}${name}: ${literal(def)},`)
    .join("\n");
}

function emit(def: ModelDef): string {
  const lines = [
    `/** Model ${def.id}: ${def.label}. */`,
    `export const MODEL_${def.id} = {`,
    `  id: ${def.id},`,
    `  name: ${literal(def.name)},`,
    `  label: ${literal(def.label)},`,
    `  length: ${def.length},`,
    "  points: {",
    pointLines(def.points, "    "),
    "  },",
  ];
  if (def.group) {
    const g = def.group;
    lines.push(
      "  group: {",
      `    name: ${literal(g.name)},`,
      `    count: ${literal(g.count)},`,
      `    offset: ${g.offset},`,
      `    size: ${g.size},`,
      "    points: {",
      pointLines(g.points, "      "),
      "    },",
      "  },",
    );
  }
  lines.push("} as const satisfies ModelDef;");
  return lines.join("\n");
}

function main(): void {
  const args = process.argv.slice(2);
  const dir = args.find((a) => !a.startsWith("--"));
  const commitAt = args.indexOf("--commit");
  const commit = commitAt >= 0 ? args[commitAt + 1] : undefined;
  if (!dir || !commit) fail("usage: generate-sunspec-model-table.ts <sunspec/models json directory> --commit <sha>");
  const defs = MODELS.map((id) => model(dir, id));
  const header = [
    "/**",
    " * GENERATED by shared/scripts/generate-sunspec-model-table.ts: do not edit by hand.",
    ` * Derived from the SunSpec model definitions github.com/sunspec/models, commit ${commit},`,
    ` * json/model_{${MODELS.join(",")}}.json (Apache License 2.0, SunSpec Alliance).`,
    " * Offsets of the fixed block count from the model's ID register (ID at 0, L at 1); offsets of a",
    " * group count from the start of each instance.",
    " */",
    'import type { ModelDef } from "./model-types";',
    "",
  ];
  const body = defs.map(emit).join("\n\n");
  const index = `\n\n/** Every model of the table, by ID. */\nexport const SUNSPEC_MODEL_TABLE = { ${defs.map((d) => `${d.id}: MODEL_${d.id}`).join(", ")} } as const;\n`;
  process.stdout.write(`${header.join("\n")}\n${body}${index}`);
}

main();
