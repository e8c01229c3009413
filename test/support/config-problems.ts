import { ConfigError } from "@bms/shared";

/** The problem lines of the ConfigError that `load` throws; fails when it throws something else or nothing. */
export function configProblems(load: () => unknown): string[] {
  try {
    load();
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error("expected a ConfigError, but the config was accepted");
}
