import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { openSqliteDeadLetterStore } from "@bms/storage";
import { describe, expect, it } from "vitest";
import { startAedesBroker } from "../../../test/support/aedes-broker";
import { waitFor } from "../../../test/support/free-port";
import { INGESTION_FILES } from "../src/index";
import { baseTs, connectPublisher, makeSample, metricValue, publish, startTestIngestion, useIngestionTestbed } from "./ingestion-harness";

/**
 * A time-series server that answers like InfluxDB does to bad data or a bad token. VictoriaMetrics
 * accepts nearly anything, so this one small HTTP server stands in for the rejections.
 */
async function startRejectingServer(answer: (body: string) => { status: number; body?: string }) {
  const accepted: string[] = [];
  let requests = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      requests++;
      const raw = Buffer.concat(chunks);
      const body = (req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw).toString();
      const { status, body: reply } = answer(body);
      if (status === 204) accepted.push(...body.split("\n"));
      res.writeHead(status, { "content-type": "application/json" });
      res.end(reply ?? "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    accepted,
    requests: () => requests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("the time-series server rejects data", () => {
  const t = useIngestionTestbed();

  it("a 400 dead-letters only the bad sample, with the server's message, and the rest is written", async () => {
    const server = await startRejectingServer((body) =>
      body.includes(",pack=bad ") ? { status: 400, body: '{"code":"invalid","message":"unable to parse line: bad field"}' } : { status: 204 },
    );
    t.timeSeries = server;
    t.broker = await startAedesBroker();
    t.ingestion = await startTestIngestion({ mqttUrl: t.broker.url, dataDir: t.dir.path, influxUrl: server.url });
    t.publisher = await connectPublisher(t.broker.url);
    const t0 = baseTs();
    for (let seq = 1; seq <= 8; seq++) {
      await publish(t.publisher, seq === 5 ? "bms/s1/bad/telemetry" : "bms/s1/p1/telemetry", makeSample(seq, t0 + seq * 1000));
    }
    const running = t.ingestion;
    await waitFor(() => running.health().spoolSize === 0 && running.health().deadLetters === 1, 10_000, "the spool to drain");
    const packLines = server.accepted.filter((l) => l.startsWith("pack,"));
    expect(packLines.map((l) => /seq=(\d+)/.exec(l)?.[1])).toEqual(["1", "2", "3", "4", "6", "7", "8"]);
    expect(await metricValue(running, "bms_ingestion_dead_letters_total", { reason: "write_rejected" })).toBe(1);
    expect(running.health().lastWriteOk).toBe(true);

    await running.close();
    t.ingestion = undefined;
    const store = openSqliteDeadLetterStore(join(t.dir.path, INGESTION_FILES.deadLetters));
    const [letter] = await store.list();
    await store.close();
    expect(letter?.topic).toBe("bms/s1/bad/telemetry");
    expect(letter?.reason).toMatch(/^time-series server rejected the sample: HTTP 400 .*unable to parse line: bad field/);
    expect(letter?.payload).toContain("seq=5");
  });

  it("a 401 is retried with backoff, reported on health naming the setting, and loses nothing", async () => {
    let authorized = false;
    const server = await startRejectingServer(() =>
      authorized ? { status: 204 } : { status: 401, body: '{"code":"unauthorized","message":"unauthorized access"}' },
    );
    t.timeSeries = server;
    t.broker = await startAedesBroker();
    t.ingestion = await startTestIngestion({ mqttUrl: t.broker.url, dataDir: t.dir.path, influxUrl: server.url });
    t.publisher = await connectPublisher(t.broker.url);
    const t0 = baseTs();
    for (let seq = 1; seq <= 3; seq++) await publish(t.publisher, "bms/s1/p1/telemetry", makeSample(seq, t0 + seq * 1000));
    const running = t.ingestion;
    await waitFor(() => running.health().lastWriteOk === false, 10_000, "the failure on health");
    expect(running.health().lastWriteError).toMatch(/HTTP 401 .*check INFLUX_TOKEN/);
    await waitFor(() => running.health().spoolSize === 3, 5000, "3 spooled samples");
    expect(running.health().deadLetters).toBe(0);

    authorized = true;
    await waitFor(() => running.health().spoolSize === 0, 10_000, "the spool to drain");
    expect(server.accepted.filter((l) => l.startsWith("pack,"))).toHaveLength(3);
    expect(running.health()).toMatchObject({ lastWriteOk: true, deadLetters: 0 });
  });
});
