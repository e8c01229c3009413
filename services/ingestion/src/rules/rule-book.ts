import { join } from "node:path";
import { type Chemistry, ConfigError, formatIssues, packageDir, readConfigFile } from "@bms/shared";
import {
  HealthSettings,
  type HealthSettings as HealthSettingsType,
  RuleDefinition,
  RuleFile,
  type RuleFileInput,
  RuleSettings,
  type RuleSettings as RuleSettingsType,
  WarrantyTerms,
  type WarrantyTerms as WarrantyTermsType,
} from "@bms/shared/config/rules-config";

/** The shipped defaults, layered under every site's own rule file. */
export const DEFAULT_RULES_FILE = join(packageDir("@bms/ingestion"), "rules", "default-rules.yaml");

/** A rule definition with the ID it has in the file. */
export type Rule = RuleDefinition & { id: string };

/** The rules that apply to one pack: its chemistry's values with its site's and its own changes. */
export interface ResolvedRules {
  chemistry: Chemistry;
  /** From the rule file's pack section, when set. */
  ratedCapacityAh: number | undefined;
  settings: RuleSettingsType;
  /** The warranty terms: top level, then the chemistry's, then the product's. */
  warranty: WarrantyTermsType;
  /** How the pack's health is estimated: top level, then the chemistry's, then the product's. */
  health: HealthSettingsType;
  /** Enabled rules, in file order. */
  rules: readonly Rule[];
  /** Every rule, enabled or not. */
  byId: ReadonlyMap<string, Rule>;
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Objects merge key by key; arrays, values and null replace. */
function merge(base: unknown, top: unknown): unknown {
  if (top === undefined) return base;
  if (!isRecord(base) || !isRecord(top)) return top;
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(top)) out[key] = merge(base[key], value);
  return out;
}

function mergeAll(...layers: unknown[]): Json {
  return layers.reduce<unknown>((acc, layer) => merge(acc, layer), {}) as Json;
}

function parseLayer(input: unknown, source: string): RuleFile {
  const parsed = RuleFile.safeParse(input, { reportInput: true });
  if (!parsed.success) throw new ConfigError(source, formatIssues(parsed.error.issues));
  return parsed.data;
}

/** Merges rule files: the later one's sections win, rule by rule and field by field. */
function mergeFiles(files: readonly RuleFile[]): RuleFile {
  let out: RuleFile = {
    version: 1,
    replaceDefaults: false,
    settings: {},
    warranty: {},
    health: {},
    rules: {},
    chemistries: {},
    products: {},
    sites: {},
    packs: {},
  };
  for (const file of files) {
    out = {
      version: 1,
      replaceDefaults: false,
      settings: mergeAll(out.settings, file.settings),
      warranty: mergeAll(out.warranty, file.warranty),
      health: mergeAll(out.health, file.health),
      rules: mergeAll(out.rules, file.rules) as RuleFile["rules"],
      chemistries: mergeAll(out.chemistries, file.chemistries) as RuleFile["chemistries"],
      products: mergeAll(out.products, file.products) as RuleFile["products"],
      sites: mergeAll(out.sites, file.sites) as RuleFile["sites"],
      packs: mergeAll(out.packs, file.packs) as RuleFile["packs"],
    };
  }
  return out;
}

export interface RuleBookSources {
  /** A rule file (YAML or JSON) layered over the defaults. */
  file?: string | undefined;
  /** Rule-file content layered last (tests, the ingestion config's `rules`). */
  inline?: RuleFileInput | Record<string, unknown> | undefined;
  /** @default DEFAULT_RULES_FILE */
  defaultsFile?: string;
}

/**
 * The rule file(s) as one book: the shipped defaults, the site's file, inline rules. Every
 * combination of chemistry, site and pack section is validated when the book is loaded, so a
 * mistake is a start-up error (ConfigError: one line per problem, naming where it is) rather than a
 * surprise when the first sample of that pack arrives.
 */
export class RuleBook {
  private readonly cache = new Map<string, ResolvedRules>();

  private constructor(readonly file: RuleFile) {}

  static load(sources: RuleBookSources = {}): RuleBook {
    const layers: RuleFile[] = [];
    const own = sources.file === undefined ? undefined : parseLayer(readConfigFile(sources.file), sources.file);
    const inline = sources.inline === undefined || Object.keys(sources.inline).length === 0 ? undefined : parseLayer(sources.inline, "ingestion config rules");
    const replace = (inline?.replaceDefaults ?? false) || (own?.replaceDefaults ?? false);
    if (!replace) {
      const defaultsFile = sources.defaultsFile ?? DEFAULT_RULES_FILE;
      layers.push(parseLayer(readConfigFile(defaultsFile), defaultsFile));
    }
    if (own) layers.push(own);
    if (inline) layers.push(inline);
    const book = new RuleBook(mergeFiles(layers));
    book.validate(sources.file ?? (inline ? "ingestion config rules" : (sources.defaultsFile ?? DEFAULT_RULES_FILE)));
    return book;
  }

  /**
   * The rules for one pack; `metaChemistry` is what its meta says (the pack section wins over it,
   * the site section does not), `product` its meta's model (the products section).
   */
  resolve(siteId: string, packId: string, metaChemistry?: Chemistry, product?: string): ResolvedRules {
    // Packs without a section of their own share their site's (or the fleet's) resolved rules.
    const f = this.file;
    const scope = Object.hasOwn(f.packs, `${siteId}/${packId}`) ? `${siteId}/${packId}` : Object.hasOwn(f.sites, siteId) ? `${siteId}/` : "/";
    const key = `${scope}/${metaChemistry ?? ""}/${product ?? ""}`;
    let found = this.cache.get(key);
    if (!found) {
      found = this.build(siteId, packId, metaChemistry, product, (problems) => {
        throw new ConfigError("rule file", problems);
      });
      this.cache.set(key, found);
    }
    return found;
  }

  private build(
    siteId: string | undefined,
    packId: string | undefined,
    metaChemistry: Chemistry | undefined,
    productName: string | undefined,
    report: (problems: string[]) => never,
  ): ResolvedRules {
    const f = this.file;
    const site = siteId === undefined ? undefined : f.sites[siteId];
    const pack = siteId === undefined || packId === undefined ? undefined : f.packs[`${siteId}/${packId}`];
    const baseSettings = RuleSettings.safeParse(f.settings);
    const fallback = baseSettings.success ? baseSettings.data.defaultChemistry : "LFP";
    const chemistry: Chemistry = pack?.chemistry ?? metaChemistry ?? site?.chemistry ?? fallback;
    const chem = f.chemistries[chemistry];
    const problems: string[] = [];
    const chemLabel = chem ? ` (with chemistries.${chemistry})` : "";
    const settings = RuleSettings.safeParse(mergeAll(f.settings, chem?.settings), { reportInput: true });
    if (!settings.success) for (const line of formatIssues(settings.error.issues)) problems.push(`settings${chemLabel}: ${line}`);
    const product = productName === undefined ? undefined : f.products[productName];
    const layersLabel = `${chemLabel}${product ? ` (with products.${productName})` : ""}`;
    const warranty = WarrantyTerms.safeParse(mergeAll(f.warranty, chem?.warranty, product?.warranty), { reportInput: true });
    if (!warranty.success) for (const line of formatIssues(warranty.error.issues)) problems.push(`warranty${layersLabel}: ${line}`);
    const health = HealthSettings.safeParse(mergeAll(f.health, chem?.health, product?.health), { reportInput: true });
    if (!health.success) for (const line of formatIssues(health.error.issues)) problems.push(`health${layersLabel}: ${line}`);
    const ids = new Set([...Object.keys(f.rules), ...Object.keys(chem?.rules ?? {}), ...Object.keys(site?.rules ?? {}), ...Object.keys(pack?.rules ?? {})]);
    const rules: Rule[] = [];
    for (const id of ids) {
      const layers = [f.rules[id], chem?.rules[id], site?.rules[id], pack?.rules[id]];
      const section = pack?.rules[id]
        ? `packs.${siteId}/${packId}.rules.${id}`
        : site?.rules[id]
          ? `sites.${siteId}.rules.${id}`
          : chem?.rules[id]
            ? `chemistries.${chemistry}.rules.${id}`
            : `rules.${id}`;
      const merged = mergeAll(...layers);
      if (!("kind" in merged)) {
        problems.push(`${section}: no rule ${JSON.stringify(id)} to change (a new rule needs its kind and every field)`);
        continue;
      }
      const parsed = RuleDefinition.safeParse(merged, { reportInput: true });
      if (!parsed.success) {
        const merging = section === `rules.${id}` ? "" : " (merged with the rule it changes)";
        for (const line of formatIssues(parsed.error.issues)) problems.push(`${section}${merging}: ${line}`);
        continue;
      }
      rules.push({ ...parsed.data, id });
    }
    const byId = new Map(rules.map((rule) => [rule.id, rule]));
    for (const line of checkReferences(rules, ids)) problems.push(line);
    if (problems.length > 0) report(problems);
    return {
      chemistry,
      ratedCapacityAh: pack?.ratedCapacityAh,
      settings: settings.data as RuleSettingsType,
      warranty: warranty.data as WarrantyTermsType,
      health: health.data as HealthSettingsType,
      rules: rules.filter((r) => r.enabled),
      byId,
    };
  }

  private validate(source: string): void {
    const problems = new Set<string>();
    const collect = (siteId?: string, packId?: string, chemistry?: Chemistry, product?: string) => {
      try {
        this.build(siteId, packId, chemistry, product, (lines) => {
          throw new ConfigError(source, lines);
        });
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        for (const line of err.problems) problems.add(line);
      }
    };
    const chemistries = new Set<Chemistry>(["LFP", "NMC", ...(Object.keys(this.file.chemistries) as Chemistry[])]);
    for (const chemistry of chemistries) {
      collect(undefined, undefined, chemistry);
      for (const product of Object.keys(this.file.products)) collect(undefined, undefined, chemistry, product);
      for (const siteId of Object.keys(this.file.sites)) collect(siteId, undefined, chemistry);
    }
    for (const key of Object.keys(this.file.packs)) {
      const [siteId, packId] = key.split("/");
      for (const chemistry of chemistries) collect(siteId, packId, chemistry);
    }
    if (problems.size > 0) throw new ConfigError(source, [...problems]);
  }
}

/** explainedBy must name rules that exist (in some layer). */
function checkReferences(rules: readonly Rule[], ids: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  for (const rule of rules) {
    for (const other of rule.explainedBy) if (!ids.has(other)) problems.push(`rules.${rule.id}.explainedBy: no rule ${JSON.stringify(other)}`);
    if (rule.kind === "bms-alarm") {
      for (const [code, entry] of Object.entries(rule.codes)) {
        for (const other of entry?.explainedBy ?? []) {
          if (!ids.has(other)) problems.push(`rules.${rule.id}.codes.${code}.explainedBy: no rule ${JSON.stringify(other)}`);
        }
      }
    }
  }
  return problems;
}
