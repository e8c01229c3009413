/**
 * aedes-persistence's own abstract suite (node:test) against the broker's `disk` persistence as the
 * broker opens it: aedes-persistence-level over GroupCommitLevel, behind the order-keeping wrapper.
 * Run by persistence-conformance.test.ts: `node --import tsx --test <this file>`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test, { after } from "node:test";
import abstractPersistence from "aedes-persistence/abstract.js";
import { openBrokerPersistence } from "../../src/broker-persistence";

const root = mkdtempSync(join(tmpdir(), "bms-aedes-conformance-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

abstractPersistence({
  test,
  testAsync: true,
  async persistence() {
    const opened = await openBrokerPersistence({ persistence: "disk", dataDir: join(root, String(n++)) });
    return opened.persistence;
  },
});
