// aedes-persistence-level ships no types. Its async class (the one aedes 1.x takes) is used as an
// opaque aedes persistence; only its lifecycle matters here.
declare module "aedes-persistence-level/asyncPersistence.js" {
  export default class AsyncLevelPersistence {
    constructor(db: unknown);
    setup(broker: unknown): Promise<void>;
    destroy(): Promise<void>;
  }
}
