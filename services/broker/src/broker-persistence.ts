import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "@bms/shared";
import type { BrokerConfig } from "@bms/shared/config/broker-config";
import AsyncLevelPersistence from "aedes-persistence-level/asyncPersistence.js";
import { ClassicLevel } from "classic-level";
import { IndexedMemoryPersistence } from "./memory-persistence";

/** The LevelDB directory of the `disk` persistence, under the broker's dataDir. */
export const BROKER_DB_DIR = "broker";

export interface BrokerPersistence {
  /** For aedes' `persistence` option. */
  persistence: AsyncLevelPersistence | IndexedMemoryPersistence;
  /** Where it lives, for the start-up log. */
  location: string;
  /** Waits for the writes in progress, then closes the database. Call after aedes closed. */
  close(): Promise<void>;
}

/** How long close() waits for writes still in progress. */
const SETTLE_TIMEOUT_MS = 5000;

/**
 * Stores a publish waits for (its copies queued for persistent sessions), answered in call order
 * (below). Each copy has a key of its own, ordered by the broker's counter, so the writes themselves
 * may run at once: one at a time capped the whole broker at LevelDB's round trips and queued every
 * publish behind the ones before (fault → case p99 850 ms at 1 000 messages/s).
 */
const ANSWERED_IN_ORDER = new Set(["outgoingEnqueue", "outgoingEnqueueCombi"]);
/**
 * Stores a delivery waits for, answered in call order per client: aedes gives a QoS 1 copy for an
 * online persistent session its message ID with `outgoingUpdate` and writes it to the socket when
 * that store answers, so two answers out of order would reorder the client's messages. The stores
 * themselves run at once (one at a time would cap a client at LevelDB's round trips: about a
 * second of delay at 1 000 messages/s); only their answers wait for the ones called before.
 */
const IN_ORDER_PER_CLIENT = new Set(["outgoingUpdate"]);
/** Stores a publish need not wait for: queued in order, answered at once. */
const WRITE_BEHIND = new Set(["storeRetained"]);

/**
 * Wraps the persistence for two things aedes needs of it:
 * - Order. aedes drops a message for a client as a duplicate when one with a higher broker counter
 *   reached that client first (its `dedupe`), and for a persistent session it then deletes it from
 *   the queue: lost. With an in-memory persistence the publishes of one client reach subscribers in
 *   order; on disk, two stores of queued copies can finish out of order (aedes issue #955, the same
 *   with aedes-persistence-mongodb issue #27). So the stores a publish waits for (queued copies for
 *   persistent sessions) are answered in call order, and the retained copy (one key, overwritten)
 *   is written behind, one at a time in call order, without holding the publish up.
 * - A clean close: calls in progress are counted, so close() lets the last stores of a closing
 *   broker finish (aedes acknowledges a QoS 1 PUBLISH before its copies are stored) instead of
 *   closing the database under them.
 * Streams (outgoingStream, createRetainedStream...) pass through.
 */
function orderAndTrack<T extends object>(target: T, onError: (err: unknown) => void): { wrapped: T; settled(timeoutMs: number): Promise<void> } {
  let pending = 0;
  const chains = new Map<string, Promise<unknown>>();
  /** `done` settles after everything chained on `key` before it; returns `done`. */
  const chain = (key: string, next: (previous: Promise<unknown>) => Promise<unknown>) => {
    const done = next(chains.get(key) ?? Promise.resolve());
    const tail = done.catch(() => undefined);
    chains.set(key, tail);
    // A key's chain is dropped once it has nothing queued, so the map does not grow with clients.
    void tail.then(() => {
      if (chains.get(key) === tail) chains.delete(key);
    });
    return done;
  };
  /** Runs `run` after the calls before it have finished. */
  const inOrder = (run: () => Promise<unknown>) => chain("", (previous) => previous.then(run));
  /** Starts `run` now; its answer comes after those of the calls before it with the same key. */
  const answerInOrder = (run: () => Promise<unknown>, key: string) => {
    const started = run();
    return chain(key, (previous) => previous.then(() => started));
  };
  const clientKey = (client: unknown) => `client:${String((client as { id?: unknown } | null)?.id)}`;
  const wrapped = new Proxy(target, {
    get(obj, key) {
      const value: unknown = Reflect.get(obj, key, obj);
      if (typeof value !== "function") return value;
      // aedes checks that `setup` is an async function: async methods stay async functions.
      if (value.constructor.name !== "AsyncFunction") return value.bind(obj);
      const name = String(key);
      return async (...args: unknown[]) => {
        pending += 1;
        const run = async () => {
          try {
            return await value.apply(obj, args);
          } finally {
            pending -= 1;
          }
        };
        if (WRITE_BEHIND.has(name)) {
          inOrder(run).catch(onError);
          return undefined;
        }
        if (IN_ORDER_PER_CLIENT.has(name)) return answerInOrder(run, clientKey(args[0]));
        return ANSWERED_IN_ORDER.has(name) ? answerInOrder(run, "publish") : run();
      };
    },
  });
  const settled = async (timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (pending > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  };
  return { wrapped, settled };
}

function isLocked(err: unknown): boolean {
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause;
  return cause?.code === "LEVEL_LOCKED";
}

/**
 * `memory`: aedes' in-memory persistence with indexed queues (memory-persistence.ts).
 * `disk`: aedes-persistence-level on a classic-level (LevelDB) database in `${dataDir}/broker`:
 * sessions, subscriptions, QoS 1 messages queued for offline sessions, retained messages and wills
 * survive a restart. A directory another broker holds is a ConfigError naming DATA_DIR.
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
  const { wrapped, settled } = orderAndTrack(new AsyncLevelPersistence(db), onError);
  let closing: Promise<void> | undefined;
  return {
    persistence: wrapped,
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
