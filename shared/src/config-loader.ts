import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { ConfigError } from "./errors";

/** A variable's text as its binding's type; what does not fit stays text, for zod to name. */
function envValue(raw: string, type: EnvBinding["type"]): unknown {
  if (type === "int" && /^-?\d+$/.test(raw)) return Number(raw);
  if (type === "bool" && /^(1|true)$/i.test(raw)) return true;
  if (type === "bool" && /^(0|false)$/i.test(raw)) return false;
  return raw;
}

/** Maps an environment variable onto a config path, e.g. `HTTP_PORT` → `["http", "port"]`. */
export interface EnvBinding {
  path: readonly string[];
  /**
   * `int` turns a string of digits into a number, `bool` turns `1`/`true` and `0`/`false` into a
   * boolean; anything else stays a string for zod to reject.
   */
  type?: "int" | "bool" | "string";
}

export interface LoadConfigOptions {
  /** JSON or YAML file (by extension; `.yml`/`.yaml` are YAML, anything else JSON). */
  file?: string;
  env?: NodeJS.ProcessEnv;
  envBindings?: Readonly<Record<string, EnvBinding>>;
  /** Applied last, e.g. command-line flags. */
  overrides?: Record<string, unknown>;
}

function preview(value: unknown): string {
  let text: string;
  try {
    text = typeof value === "string" ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    // A value nested deeper than JSON.stringify's stack (hostile input): say what it is, not what is in it.
    text = Array.isArray(value) ? "an array nested too deep to show" : `a ${typeof value} nested too deep to show`;
  }
  // A URL's user and password (DATABASE_URL, AMQP_URL) never appear in an error line.
  text = text.replace(/\/\/[^/@\s"]*@/g, "//***@");
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Values of these fields never appear in an error line. */
const SECRET_KEY = /password|token|secret/i;

/** One readable line per zod issue: field path, what was expected, what was there. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], pathNotes: ReadonlyMap<string, string> = new Map()): string[] {
  return issues.map((issue) => {
    const path = issue.path.map(String).join(".") || "(root)";
    const note = pathNotes.get(path);
    const where = note ? `${path} (from ${note})` : path;
    const what = issue.code === "invalid_type" ? `expected ${issue.expected}` : issue.message;
    const input = (issue as { input?: unknown }).input;
    const secret = issue.path.some((key) => SECRET_KEY.test(String(key)));
    const got = issue.code === "unrecognized_keys" ? "" : input === undefined ? ", got nothing" : secret ? "" : `, got ${preview(input)}`;
    return `${where}: ${what}${got}`;
  });
}

/** Validates `input` against `schema`; throws a ConfigError with one line per problem. */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown, source: string, pathNotes?: ReadonlyMap<string, string>): z.output<S> {
  const result = schema.safeParse(input, { reportInput: true });
  if (!result.success) throw new ConfigError(source, formatIssues(result.error.issues, pathNotes));
  return result.data;
}

/** Reads a JSON or YAML config file; a missing file or a syntax error is a ConfigError. */
export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as Error).message}`]);
  }
  try {
    const ext = extname(file).toLowerCase();
    return ext === ".yml" || ext === ".yaml" ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new ConfigError(file, [`not valid ${extname(file) || "JSON"}: ${(err as Error).message}`]);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (!isRecord(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1];
  if (last !== undefined) node[last] = value;
}

function deepMerge(base: Record<string, unknown>, top: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(top)) {
    const prev = out[key];
    out[key] = isRecord(prev) && isRecord(value) ? deepMerge(prev, value) : value;
  }
  return out;
}

const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * `${NAME}` in a config file's strings → the environment variable NAME, so secrets (passwords,
 * tokens) stay out of the file; an unset or empty one is a problem naming the variable and where.
 */
function expandEnvReferences(value: unknown, env: NodeJS.ProcessEnv, path: string, problems: string[]): unknown {
  if (typeof value === "string") {
    return value.replace(ENV_REFERENCE, (_match, name: string) => {
      const found = env[name];
      if (found === undefined || found === "") problems.push(`${path || "(root)"}: \${${name}} names an environment variable that is not set`);
      return found ?? "";
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => expandEnvReferences(item, env, path ? `${path}.${i}` : String(i), problems));
  if (isRecord(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, expandEnvReferences(item, env, path ? `${path}.${key}` : key, problems)]));
  }
  return value;
}

/** File (its `${NAME}` references expanded), then environment variables, then overrides; validated as a whole. */
export function loadConfig<S extends z.ZodType>(schema: S, options: LoadConfigOptions = {}): z.output<S> {
  const env = options.env ?? process.env;
  const problems: string[] = [];
  const fromFile = options.file === undefined ? {} : expandEnvReferences(readConfigFile(options.file), env, "", problems);
  if (problems.length > 0) throw new ConfigError(options.file ?? "config", problems);
  if (!isRecord(fromFile)) throw new ConfigError(options.file ?? "config", ["(root): expected an object"]);
  const fromEnv: Record<string, unknown> = {};
  const notes = new Map<string, string>();
  for (const [name, binding] of Object.entries(options.envBindings ?? {})) {
    const raw = env[name];
    if (raw === undefined || raw === "") continue;
    const value = envValue(raw, binding.type);
    setPath(fromEnv, binding.path, value);
    notes.set(binding.path.join("."), name);
  }
  const merged = deepMerge(deepMerge(fromFile, fromEnv), options.overrides ?? {});
  const source = options.file ?? "environment";
  return parseConfig(schema, merged, source, notes);
}
