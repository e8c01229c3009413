import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { join } from "node:path";
import type { PackSample } from "@bms/shared";
import { openSqliteCaseStore, openSqliteWebhookOutbox } from "@bms/storage";
import { describe, expect, it } from "vitest";
import { startAedesBroker } from "../../../test/support/aedes-broker";
import { waitFor } from "../../../test/support/free-port";
import { verifyWebhookSignature } from "../src/webhooks/webhook-signature";
import { baseTs, connectPublisher, META, makeSample, publish, startTestIngestion, useIngestionTestbed } from "./ingestion-harness";

const SECRET = "hotline-secret-0123456789";
const OTHER_SECRET = "pager-secret-0123456789abc";

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** The hotline's tool: records every request; `answer` decides the status of each. */
async function startReceiver(answer: (n: number, path: string) => number): Promise<{ url: string; received: Received[]; stop(): Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on("end", () => {
      received.push({ path: req.url ?? "", headers: req.headers, body });
      res.writeHead(answer(received.length, req.url ?? "")).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Cell 3 at `v` V, the BMS reporting OVER_VOLT_ALARM above 3.65 V. */
function cell(t0: number, i: number, v: number): PackSample {
  return makeSample(i, t0 + i * 1000, { current: 20, cellVoltages: [3.3, 3.3, 3.3, v], packVoltage: 9.9 + v, bmsAlarms: v > 3.65 ? ["OVER_VOLT_ALARM"] : [] });
}

describe("outgoing webhooks", () => {
  const t = useIngestionTestbed();

  it("signs each case opened and escalated, retries with backoff until delivered, and keeps the log", { timeout: 60_000 }, async () => {
    // The hotline answers 503 twice, then 200; the pager takes only critical cases.
    const receiver = await startReceiver((n, path) => (path === "/hotline" && n <= 2 ? 503 : 200));
    t.timeSeries = receiver; // stopped after the test
    t.broker = await startAedesBroker();
    t.ingestion = await startTestIngestion({
      mqttUrl: t.broker.url,
      dataDir: t.dir.path,
      extra: {
        webhooks: {
          endpoints: [
            { url: `${receiver.url}/hotline`, secret: SECRET },
            { url: `${receiver.url}/pager`, secret: OTHER_SECRET, events: ["opened", "escalated"], minSeverity: "critical" },
          ],
          initialBackoffMs: 50,
          maxBackoffMs: 200,
        },
      },
    });
    t.publisher = await connectPublisher(t.broker.url);
    const t0 = baseTs();
    await publish(t.publisher, "bms/w1/p1/meta", META, true);
    // 3.6 V for 40 s: the warning level (3.55 V, held 30 s) opens the case; 3.7 V with the BMS's code escalates it.
    for (let i = 1; i <= 40; i++) await publish(t.publisher, "bms/w1/p1/telemetry", cell(t0, i, 3.6));
    for (let i = 41; i <= 45; i++) await publish(t.publisher, "bms/w1/p1/telemetry", cell(t0, i, 3.7));
    // Cleared and fired again: an occurrence, which calls nobody.
    for (let i = 46; i <= 60; i++) await publish(t.publisher, "bms/w1/p1/telemetry", cell(t0, i, 3.3));
    for (let i = 61; i <= 70; i++) await publish(t.publisher, "bms/w1/p1/telemetry", cell(t0, i, 3.7));

    const hotline = () => receiver.received.filter((r) => r.path === "/hotline");
    await waitFor(() => hotline().filter((_, i) => i >= 2).length >= 2, 20_000, "two deliveries after the two refusals");
    await new Promise((r) => setTimeout(r, 500));
    const bodies = hotline().map((r) => JSON.parse(r.body) as { id: string; event: string; case: { ruleId: string; severity: string } });
    // Attempts 1 and 2 of the first delivery got 503; the same delivery (same id) came a third time.
    expect(bodies.map((b) => b.event)).toEqual(["case.opened", "case.opened", "case.opened", "case.escalated"]);
    expect(new Set(bodies.slice(0, 3).map((b) => b.id)).size).toBe(1);
    expect(hotline().map((r) => r.headers["x-bms-delivery"])).toEqual(bodies.map((b) => b.id));
    expect(bodies[0]?.case).toMatchObject({ ruleId: "cell-over-voltage", severity: "warning" });
    expect(bodies[3]?.case).toMatchObject({ ruleId: "cell-over-voltage", severity: "major" });
    for (const r of hotline()) {
      expect(r.headers["content-type"]).toBe("application/json");
      expect(verifyWebhookSignature(SECRET, r.body, r.headers["x-bms-signature"] as string)).toBe(true);
      // A tampered body or another secret does not verify.
      expect(verifyWebhookSignature(SECRET, `${r.body} `, r.headers["x-bms-signature"] as string)).toBe(false);
      expect(verifyWebhookSignature(OTHER_SECRET, r.body, r.headers["x-bms-signature"] as string)).toBe(false);
    }
    // Nothing was critical: the pager heard nothing.
    expect(receiver.received.filter((r) => r.path === "/pager")).toEqual([]);

    const outbox = openSqliteWebhookOutbox(join(t.dir.path, "cases.db"));
    try {
      const log = await outbox.list();
      expect(log.map((d) => [d.state, d.attempts, d.lastResult])).toEqual([
        ["delivered", 1, "HTTP 200"],
        ["delivered", 3, "HTTP 200"],
      ]);
    } finally {
      await outbox.close();
    }
  });

  it("keeps a delivery through an outage and a restart, and gives up after the last attempt", { timeout: 60_000 }, async () => {
    t.broker = await startAedesBroker();
    // Nothing listens here yet.
    const down = await startReceiver(() => 200);
    const url = down.url;
    await down.stop();
    const start = (maxAttempts: number) =>
      startTestIngestion({
        mqttUrl: t.broker!.url,
        dataDir: t.dir.path,
        extra: { webhooks: { endpoints: [{ url: `${url}/hotline`, secret: SECRET }], maxAttempts, initialBackoffMs: 100, maxBackoffMs: 200 } },
      });
    t.ingestion = await start(100);
    t.publisher = await connectPublisher(t.broker.url);
    const t0 = baseTs();
    for (let i = 1; i <= 5; i++) await publish(t.publisher, "bms/w2/p1/telemetry", cell(t0, i, 3.7));
    const outbox = openSqliteWebhookOutbox(join(t.dir.path, "cases.db"));
    const cases = openSqliteCaseStore(join(t.dir.path, "cases.db"));
    try {
      await waitFor(async () => ((await outbox.list())[0]?.attempts ?? 0) >= 2, 10_000, "failed attempts");
      expect((await outbox.list())[0]).toMatchObject({ state: "pending", lastResult: "ECONNREFUSED" });
      await t.ingestion.close();
      // The hotline's tool comes back on the same port; a new ingestion sends what was queued.
      const [host, port] = url.replace("http://", "").split(":");
      const back = await new Promise<{ received: Received[]; stop(): Promise<void> }>((resolve) => {
        const received: Received[] = [];
        const server = createServer((req, res) => {
          let body = "";
          req.on("data", (c: Buffer) => {
            body += c.toString();
          });
          req.on("end", () => {
            received.push({ path: req.url ?? "", headers: req.headers, body });
            res.writeHead(204).end();
          });
        });
        server.listen(Number(port), host, () => resolve({ received, stop: () => new Promise<void>((r) => server.close(() => r())) }));
      });
      t.timeSeries = { url, stop: back.stop };
      t.ingestion = await start(100);
      await waitFor(() => back.received.length === 1, 10_000, "the queued delivery after the restart");
      const [only] = back.received;
      const body = JSON.parse(only?.body ?? "{}") as { event: string; case: { id: string } };
      expect(body.event).toBe("case.opened");
      expect(body.case.id).toBe((await cases.list())[0]?.id);
      await waitFor(async () => (await outbox.list())[0]?.state === "delivered", 5000, "the delivery marked delivered");
      expect((await outbox.list())[0]?.lastResult).toBe("HTTP 204");

      // A receiver that never takes one: given up after maxAttempts, and logged as failed.
      await back.stop();
      t.timeSeries = undefined;
      await t.ingestion.close();
      t.ingestion = await start(3);
      for (let i = 1; i <= 5; i++) await publish(t.publisher, "bms/w2/p2/telemetry", cell(t0, i, 3.7));
      await waitFor(async () => (await outbox.list({ state: "failed" })).length === 1, 15_000, "the delivery given up");
      expect((await outbox.list({ state: "failed" }))[0]).toMatchObject({ attempts: 3, lastResult: "ECONNREFUSED" });
    } finally {
      await outbox.close();
      await cases.close();
    }
  });
});
