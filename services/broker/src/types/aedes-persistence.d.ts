// aedes-persistence types its in-memory class but maps no subpath to it: the class the broker
// extends (memory-persistence.ts) is its async one, by file.
declare module "aedes-persistence/asyncPersistence.js" {
  import MemoryPersistence = require("aedes-persistence/types/asyncPersistence");
  export = MemoryPersistence;
}

// aedes-persistence's abstract conformance suite (node:test), run against the broker's persistence.
declare module "aedes-persistence/abstract.js" {
  export default function abstractPersistence(options: { test: typeof import("node:test").default; testAsync?: boolean; persistence(): unknown }): void;
}
