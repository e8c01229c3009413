import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "@bms/shared";
import type { BrokerConfig } from "@bms/shared/config/broker-config";
import { ClassicLevel } from "classic-level";
import { LevelPersistence } from "./level-persistence";
import { IndexedMemoryPersistence } from "./memory-persistence";

/** The LevelDB directory of the `disk` persistence, under the broker's dataDir. */
export const BROKER_DB_DIR = "broker";

export interface BrokerPersistence {
  /** For aedes' `persistence` option. */
  persistence: LevelPersistence | IndexedMemoryPersistence;
  /** Where it lives, for the start-up log. */
  location: string;
  /** Waits for the writes in progress, then closes the database. Call after aedes closed. */
  close(): Promise<void>;
}

function isLocked(err: unknown): boolean {
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause;
  return cause?.code === "LEVEL_LOCKED";
}

/**
 * `memory`: aedes' in-memory persistence with indexed queues (memory-persistence.ts).
 * `disk`: aedes-persistence-level on a classic-level (LevelDB) database in `${dataDir}/broker`, its
 * queues of QoS 1 copies in memory and written by group commit (level-persistence.ts): sessions,
 * subscriptions, QoS 1 messages queued for offline sessions, retained messages and wills survive a
 * restart. A directory another broker holds is a ConfigError naming DATA_DIR.
 */
export async function openBrokerPersistence(
  config: Pick<BrokerConfig, "persistence" | "dataDir">,
  onError: (err: unknown) => void,
): Promise<BrokerPersistence> {
  if (config.persistence === "memory") return { persistence: new IndexedMemoryPersistence(), location: "memory", close: async () => {} };
  const location = join(config.dataDir, BROKER_DB_DIR);
  mkdirSync(location, { recursive: true });
  const db = new ClassicLevel(location);
  try {
    await db.open();
  } catch (err) {
    if (isLocked(err)) throw new ConfigError("broker", [`dataDir: ${location} is held by another broker process: give each broker its own DATA_DIR`]);
    throw err;
  }
  const persistence = new LevelPersistence(db, onError);
  let closing: Promise<void> | undefined;
  return {
    persistence,
    location,
    close() {
      // classic-level lets the calls in progress finish before it closes.
      closing ??= persistence.written().then(() => db.close());
      return closing;
    },
  };
}
