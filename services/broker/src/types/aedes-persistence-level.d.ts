// aedes-persistence-level ships no types. Its async class (the one aedes 1.x takes) is used as an
// opaque aedes persistence; only its lifecycle matters here.
declare module "aedes-persistence-level/asyncPersistence.js" {
  export default class AsyncLevelPersistence {
    constructor(db: unknown);
    setup(broker: unknown): Promise<void>;
    destroy(): Promise<void>;
  }
}

// aedes-persistence's abstract conformance suite (node:test), run against the broker's persistence.
declare module "aedes-persistence/abstract.js" {
  export default function abstractPersistence(options: {
    test: typeof import("node:test").default;
    testAsync?: boolean;
    persistence(): Promise<unknown>;
  }): void;
}
