import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/cli";

/**
 * The workspace's package boundaries, checked on every run: each package exports a fixed list of
 * entry points (no `./*`), declares every package its sources import (one version range per
 * dependency across the workspace), and no package's sources import each other in a circle (type
 * imports included: a cycle of types is still two files that cannot be understood apart).
 */
interface Manifest {
  name: string;
  exports?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  workspaces?: string[];
}

const root = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as Manifest;
const packageDirs = (root.workspaces ?? []).flatMap((pattern) =>
  pattern.endsWith("/*")
    ? readdirSync(join(REPO_ROOT, pattern.slice(0, -2)))
        .map((d) => join(pattern.slice(0, -2), d))
        .filter((d) => existsSync(join(REPO_ROOT, d, "package.json")))
    : [pattern],
);
const manifests = packageDirs.map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(REPO_ROOT, dir, "package.json"), "utf8")) as Manifest }));

/** The package's own source files (not its tests, benches or scripts, nor a package nested in it). */
function sources(dir: string): string[] {
  const src = join(REPO_ROOT, dir, "src");
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts")) out.push(path);
    }
  };
  if (existsSync(src)) walk(src);
  return out;
}

function importsOf(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles.map((f) => f.fileName);
}

/** The package an import names (`@scope/name/sub` → `@scope/name`), or null for a relative or Node built-in one. */
function packageOf(specifier: string): string | null {
  if (specifier.startsWith(".") || specifier.startsWith("node:")) return null;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] ?? null);
}

function resolveRelative(from: string, specifier: string): string | null {
  for (const candidate of [`${specifier}.ts`, join(specifier, "index.ts")]) {
    const path = join(dirname(from), candidate);
    if (existsSync(path)) return path;
  }
  return null;
}

/** Every cycle of relative imports among `files` (strongly connected components of more than one file, or a file importing itself). */
function cycles(files: readonly string[]): string[][] {
  const edges = new Map(
    files.map((f) => [f, importsOf(f).flatMap((s) => (s.startsWith(".") ? [resolveRelative(f, s)].filter((p): p is string => p !== null) : []))]),
  );
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string | undefined;
    do {
      w = stack.pop() as string;
      onStack.delete(w);
      component.push(relative(REPO_ROOT, w));
    } while (w !== v);
    if (component.length > 1 || (edges.get(v) ?? []).includes(v)) found.push(component.sort());
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return found;
}

describe("package boundaries", () => {
  it.each(manifests.map((m) => [m.manifest.name, m] as const))("%s exports a fixed list of entry points", (_name, { manifest }) => {
    const keys = Object.keys(manifest.exports ?? {});
    expect(keys).toContain(".");
    expect(keys.filter((k) => k.includes("*"))).toEqual([]);
  });

  it.each(manifests.map((m) => [m.manifest.name, m] as const))("%s declares every package its sources import", (_name, { dir, manifest }) => {
    const declared = new Set([...Object.keys(manifest.dependencies ?? {}), manifest.name]);
    const missing = new Set<string>();
    for (const file of sources(dir)) {
      for (const specifier of importsOf(file)) {
        const pkg = packageOf(specifier);
        if (pkg !== null && !declared.has(pkg)) missing.add(`${pkg} (${relative(REPO_ROOT, file)})`);
      }
    }
    expect([...missing]).toEqual([]);
  });

  it.each(manifests.map((m) => [m.manifest.name, m] as const))("%s has no import cycle", (_name, { dir }) => {
    expect(cycles(sources(dir))).toEqual([]);
  });

  it("uses one version range per dependency across the workspace", () => {
    const ranges = new Map<string, Set<string>>();
    for (const m of [{ manifest: root }, ...manifests]) {
      for (const [name, range] of Object.entries({ ...m.manifest.dependencies, ...m.manifest.devDependencies })) {
        if (!ranges.has(name)) ranges.set(name, new Set());
        ranges.get(name)?.add(range);
      }
    }
    expect([...ranges].filter(([, r]) => r.size > 1).map(([name, r]) => `${name}: ${[...r].join(" / ")}`)).toEqual([]);
  });
});
