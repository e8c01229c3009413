import { afterEach } from "vitest";

export type Cleanup = () => Promise<void> | void;

/**
 * A list to push cleanups onto during a test; after each test they run, last pushed first.
 * Call it at the top of a test file (or in a describe block).
 */
export function cleanupAfterEach(): Cleanup[] {
  const cleanups: Cleanup[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return cleanups;
}
