import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/**
 * Finds a server binary the tests need, or fails naming the Debian package that provides it.
 * `.ci/run` installs them all; a developer runs the same `apt-get install`. `extraDirs`: where a
 * package puts binaries off the PATH (PostgreSQL's under /usr/lib/postgresql/15/bin).
 */
export function requireBinary(name: string, debianPackage: string, extraDirs: readonly string[] = []): string {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/bin", "/sbin", ...extraDirs];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error(`the tests need '${name}': install the Debian package '${debianPackage}' (apt-get install -y ${debianPackage})`);
}
