import { join } from "node:path";
import { afterEach, beforeEach } from "vitest";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";

/**
 * The bed every store conformance suite stands on: a fresh temporary directory per test, and the
 * stores the test opened there closed after it. Call inside the suite's `describe`; returns the
 * function that opens a store on the test's file (`path` under the directory), as often as wanted.
 */
export function storeBed<S extends { close(): unknown }, A extends unknown[] = []>(
  tempPrefix: string,
  path: readonly string[],
  open: (file: string, ...args: A) => S | Promise<S>,
): (...args: A) => Promise<S> {
  let dir: TempDir;
  let file: string;
  const opened: S[] = [];
  beforeEach(() => {
    dir = makeTempDir(tempPrefix);
    file = join(dir.path, ...path);
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    dir.remove();
  });
  return async (...args: A) => {
    const s = await open(file, ...args);
    opened.push(s);
    return s;
  };
}
