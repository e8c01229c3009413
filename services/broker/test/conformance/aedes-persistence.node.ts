/**
 * aedes-persistence's own abstract suite (node:test) against the broker's `memory` persistence,
 * the in-memory one with indexed queues (memory-persistence.ts).
 * Run by persistence-conformance.test.ts: `node --import tsx --test <this file>`.
 */
import test from "node:test";
import abstractPersistence from "aedes-persistence/abstract.js";
import { IndexedMemoryPersistence } from "../../src/memory-persistence";

abstractPersistence({
  test,
  testAsync: true,
  persistence: () => new IndexedMemoryPersistence(),
});
