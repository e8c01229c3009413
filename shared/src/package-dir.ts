import { createRequire } from "node:module";
import { dirname } from "node:path";

/**
 * The folder of one of this project's packages (`@bms/ingestion` → services/ingestion), found the
 * way Node finds the package: the same from the TypeScript sources (development) and from a
 * bundle in another package's `dist/` (the build), where a file's own location says nothing about
 * where its package's files (rules, console, scenarios, profiles) are.
 */
export function packageDir(name: string): string {
  return dirname(createRequire(import.meta.url).resolve(`${name}/package.json`));
}
