import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "@bms/shared";
import type { BrokerConfig } from "@bms/shared/config/broker-config";
import AsyncLevelPersistence from "aedes-persistence-level/asyncPersistence.js";
import { ClassicLevel } from "classic-level";

/** The LevelDB directory of the `disk` persistence, under the broker's dataDir. */
export const BROKER_DB_DIR = "broker";

export interface BrokerPersistence {
  /** For aedes' `persistence` option; undefined = aedes' own in-memory one. */
  persistence: AsyncLevelPersistence | undefined;
  /** Where it lives, for the start-up log. */
  location: string;
  /** Waits for the writes in progress, then closes the database. Call after aedes closed. */
  close(): Promise<void>;
}

/** How long close() waits for writes still in progress. */
const SETTLE_TIMEOUT_MS = 5000;

/**
 * Counts the persistence calls in progress, so that close() lets the last stores of a closing
 * broker finish (aedes acknowledges a QoS 1 PUBLISH before its copies for offline sessions are
 * written) instead of closing the database under them.
 */
function trackPending<T extends object>(target: T): { tracked: T; settled(timeoutMs: number): Promise<void> } {
  let pending = 0;
  const tracked = new Proxy(target, {
    get(obj, key) {
      const value: unknown = Reflect.get(obj, key, obj);
      if (typeof value !== "function") return value;
      // Streams (outgoingStream, createRetainedStream...) pass through; async methods are counted,
      // and stay async functions (aedes checks that `setup` is one).
      if (value.constructor.name !== "AsyncFunction") return value.bind(obj);
      return async (...args: unknown[]) => {
        pending += 1;
        try {
          return await value.apply(obj, args);
        } finally {
          pending -= 1;
        }
      };
    },
  });
  const settled = async (timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (pending > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  };
  return { tracked, settled };
}

function isLocked(err: unknown): boolean {
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause;
  return cause?.code === "LEVEL_LOCKED";
}

/**
 * `disk`: aedes-persistence-level on a classic-level (LevelDB) database in `${dataDir}/broker`:
 * sessions, subscriptions, QoS 1 messages queued for offline sessions, retained messages and wills
 * survive a restart. A directory another broker holds is a ConfigError naming DATA_DIR.
 */
export async function openBrokerPersistence(config: Pick<BrokerConfig, "persistence" | "dataDir">): Promise<BrokerPersistence> {
  if (config.persistence === "memory") return { persistence: undefined, location: "memory", close: async () => {} };
  const location = join(config.dataDir, BROKER_DB_DIR);
  mkdirSync(location, { recursive: true });
  const db = new ClassicLevel(location);
  try {
    await db.open();
  } catch (err) {
    if (isLocked(err)) throw new ConfigError("broker", [`dataDir: ${location} is held by another broker process: give each broker its own DATA_DIR`]);
    throw err;
  }
  const { tracked, settled } = trackPending(new AsyncLevelPersistence(db));
  let closing: Promise<void> | undefined;
  return {
    persistence: tracked,
    location,
    close() {
      closing ??= (async () => {
        await settled(SETTLE_TIMEOUT_MS);
        await db.close();
      })();
      return closing;
    },
  };
}
