/**
 * aedes-persistence's own abstract suite (node:test) against the broker's `disk` persistence
 * (level-persistence.ts), each instance on a LevelDB database of its own in a temporary directory.
 * Run by persistence-conformance.test.ts: `node --import tsx --test <this file>`.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import test from "node:test";
import abstractPersistence from "aedes-persistence/abstract.js";
import { ClassicLevel } from "classic-level";
import { makeTempDir } from "../../../../test/support/temp-dir";
import { LevelPersistence } from "../../src/level-persistence";

const dir = makeTempDir("bms-broker-conformance-");
process.on("exit", () => dir.remove());
let instances = 0;

abstractPersistence({
  test,
  testAsync: true,
  persistence: async () => {
    const location = join(dir.path, String(++instances));
    mkdirSync(location);
    const db = new ClassicLevel(location);
    await db.open();
    return new LevelPersistence(db, (err) => {
      throw err;
    });
  },
});
