import type { Logger } from "@bms/shared";
import { createAdapter } from "@socket.io/redis-streams-adapter";
import { createClient } from "redis";
import type { ServerOptions } from "socket.io";

export interface RedisAdapter {
  adapter: ServerOptions["adapter"];
  close(): Promise<void>;
}

/** How long the first connection may take before the start fails. */
const CONNECT_TIMEOUT_MS = 10_000;

function redact(url: string): string {
  const u = new URL(url);
  if (u.password !== "") u.password = "***";
  return u.toString();
}

/**
 * socket.io's Redis Streams adapter on `url` (REDIS_URL): broadcasts between live nodes go through
 * a Redis stream, which a node that lost Redis for a while reads on from where it was (the
 * pub/sub adapter would lose what was sent meanwhile). The client reconnects by itself; errors
 * are logged once per kind. A Redis that cannot be reached at start fails the start, naming REDIS_URL.
 */
export async function connectRedisAdapter(url: string, log: Logger): Promise<RedisAdapter> {
  const client = createClient({ url, socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 5000) } });
  let lastError: string | null = null;
  client.on("error", (err: Error) => {
    if (err.message === lastError) return;
    lastError = err.message;
    log.warn({ err: err.message, redis: redact(url) }, "Redis error; reconnecting");
  });
  client.on("ready", () => {
    if (lastError !== null) log.info({ redis: redact(url) }, "Redis is back");
    lastError = null;
  });
  const timeout = setTimeout(() => client.destroy(), CONNECT_TIMEOUT_MS);
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`cannot reach Redis at REDIS_URL ${redact(url)}: ${(err as Error).message}`);
  } finally {
    clearTimeout(timeout);
  }
  log.info({ redis: redact(url) }, "socket.io shares rooms and events with the other live nodes through Redis");
  return {
    adapter: createAdapter(client),
    async close() {
      client.destroy();
    },
  };
}
