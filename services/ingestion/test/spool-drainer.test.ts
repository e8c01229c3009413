import { createServer } from "node:http";
import { join } from "node:path";
import { createLogger } from "@bms/shared";
import { InfluxConfig } from "@bms/shared/config/ingestion-config";
import { openSqliteDeadLetterStore, openSqliteDurableQueue } from "@bms/storage";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../../../test/support/free-port";
import { makeTempDir } from "../../../test/support/temp-dir";
import { createInfluxWriter } from "../src/influx-writer";
import { createIngestionMetrics } from "../src/ingestion-metrics";
import { SpoolDrainer } from "../src/spool-drainer";

const FLUSH_MS = 1000;
const FIRST_WRITE_MS = 1500;

/** A time-series server that takes `FIRST_WRITE_MS` to answer its first write: when each body arrived. */
async function slowServer() {
  const arrivals: { at: number; body: string }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      arrivals.push({ at: Date.now(), body: Buffer.concat(chunks).toString() });
      setTimeout(() => res.writeHead(204).end(), arrivals.length === 1 ? FIRST_WRITE_MS : 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  return { url, arrivals, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe("the spool drainer's flush interval", () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("counts a sample's wait from when it was spooled: one spooled during a slow write goes as soon as that write is done", async () => {
    const dir = makeTempDir("bms-drainer-");
    cleanups.push(() => dir.remove());
    const server = await slowServer();
    cleanups.push(server.close);
    const spool = openSqliteDurableQueue(join(dir.path, "spool.db"));
    cleanups.push(() => spool.close());
    const deadLetters = openSqliteDeadLetterStore(join(dir.path, "dead.db"));
    cleanups.push(() => deadLetters.close());
    const drainer = new SpoolDrainer(
      spool,
      createInfluxWriter(InfluxConfig.parse({ url: server.url })),
      deadLetters,
      { batchSize: 5000, flushIntervalMs: FLUSH_MS },
      createIngestionMetrics(() => spool.size()),
      createLogger("ingestion", "silent"),
    );
    const spoolLine = (line: string) => {
      spool.push([{ topic: "bms/s1/p1/telemetry", payload: line }]);
      drainer.notify(1);
    };
    spoolLine("pack,site=s1,pack=p1 seq=1 1700000000000");
    drainer.start();
    cleanups.push(() => drainer.stop(1000));
    await waitFor(() => server.arrivals.length === 1, 5000, "the first write");
    // Spooled while the first write is in flight.
    const spooledAt = Date.now();
    spoolLine("pack,site=s1,pack=p1 seq=2 1700000001000");
    await waitFor(() => server.arrivals.length === 2, 10_000, "the second write");
    const second = server.arrivals[1] as { at: number; body: string };
    expect(second.body).toBe("pack,site=s1,pack=p1 seq=2 1700000001000");
    // It waited for the first write to finish (~1.5 s), not for a whole interval after it as well (~2.5 s).
    expect(second.at - spooledAt).toBeGreaterThanOrEqual(FIRST_WRITE_MS - 100);
    expect(second.at - spooledAt).toBeLessThan(FIRST_WRITE_MS + FLUSH_MS / 2);
    await waitFor(() => spool.size() === 0, 5000, "the spool to empty");
  }, 20_000);
});
