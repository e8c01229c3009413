import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { sampleToLines } from "@bms/ingestion";
import type { PackHistory } from "@bms/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../test/support/free-port";
import { type InfluxDbServer, startInfluxDb } from "../../../test/support/influxdb";
import { startVictoriaMetrics, type VictoriaMetricsServer } from "../../../test/support/victoria-metrics";
import { historySample } from "./history-source.conformance";
import { type Harness, sample, startHarness, TOKEN } from "./live-harness";

const auth = { authorization: `Bearer ${TOKEN}` };
const T = Math.floor((Date.now() - 3 * 3_600_000) / 60_000) * 60_000;
const samples = Array.from({ length: 30 }, (_, i) => historySample(T + i * 1000, i));
const lines = samples.flatMap((s) => sampleToLines("site-t", "pack-1", s));

async function history(h: Harness, query: string): Promise<{ status: number; body: PackHistory & { error?: string } }> {
  const res = await fetch(`${h.live.url}/api/packs/site-t/pack-1/history?${query}`, { headers: auth });
  return { status: res.status, body: (await res.json()) as PackHistory & { error?: string } };
}

/** An HTTP server that answers every request with what `answer` says: a time-series server gone wrong. */
async function hostileServer(answer: (path: string) => { status: number; body: string }): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const { status, body } = answer(req.url ?? "/");
    res.writeHead(status, { "content-type": "application/json" }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe("GET /api/packs/:siteId/:packId/history from the time-series server", () => {
  let vm: VictoriaMetricsServer;
  let influx: InfluxDbServer;
  const harnesses: Harness[] = [];
  const harness = async (influxConfig: Record<string, unknown>) => {
    const h = await startHarness({ influx: influxConfig });
    harnesses.push(h);
    return h;
  };
  beforeAll(async () => {
    [vm, influx] = await Promise.all([startVictoriaMetrics(), startInfluxDb("bms")]);
    await fetch(`${vm.url}/api/v2/write?org=bms&bucket=bms&precision=ms`, { method: "POST", body: lines.join("\n") });
    await fetch(`${vm.url}/internal/force_flush`);
    await influx.write(lines);
  }, 60_000);
  afterAll(async () => {
    for (const h of harnesses) await h.close();
    await Promise.all([vm?.stop(), influx?.stop()]);
  });

  it("detects VictoriaMetrics and reads from it a pack this live service has never seen", async () => {
    const h = await harness({ url: vm.url });
    const { status, body } = await history(h, `from=${T}&to=${T + 60_000}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ siteId: "site-t", packId: "pack-1", source: "victoriametrics", resolutionMs: null });
    expect(body.points.map((p) => p.ts)).toEqual(samples.map((s) => s.ts));
    expect(body.points[3]?.soc).toBeCloseTo(samples[3]?.soc ?? -1, 6);
    // Downsampled on request: at most maxPoints, aligned buckets.
    const small = await history(h, `from=${T}&to=${T + 60_000}&maxPoints=5`);
    expect(small.body.resolutionMs).toBe(15_000);
    expect(small.body.points.length).toBeLessThanOrEqual(5);
  });

  it("detects InfluxDB and reads over InfluxQL from the bucket's database", async () => {
    const h = await harness({ url: influx.url, bucket: "bms", token: "" });
    const { status, body } = await history(h, `from=${T}&to=${T + 60_000}`);
    expect(status).toBe(200);
    expect(body.source).toBe("influxql");
    expect(body.points).toHaveLength(30);
  });

  it("uses the query API named by queryApi (HISTORY_QUERY_API) without asking", async () => {
    const h = await harness({ url: influx.url, queryApi: "influxql" });
    expect((await history(h, `from=${T}&to=${T + 60_000}`)).body.source).toBe("influxql");
    // VictoriaMetrics named as InfluxQL: its /query is no InfluxQL server, so the live buffer answers with the reason.
    const wrong = await harness({ url: vm.url, queryApi: "influxql" });
    const answer = await history(wrong, `from=${T}&to=${T + 60_000}`);
    expect(answer.status).toBe(200);
    expect(answer.body.source).toBe("live");
    expect(answer.body.warning).toContain("not an InfluxQL server");
  });

  it("falls back on the live buffer, saying why, when the server does not answer", async () => {
    const port = await freePort();
    const h = await harness({ url: `http://127.0.0.1:${port}`, timeoutMs: 500 });
    await h.publish("bms/site-t/pack-1/telemetry", sample({ seq: 1, soc: 42 }));
    await expect.poll(async () => (await history(h, "")).body.points.length, { timeout: 10_000 }).toBe(1);
    const { status, body } = await history(h, "");
    expect(status).toBe(200);
    expect(body.source).toBe("live");
    expect(body.points[0]?.soc).toBe(42);
    expect(body.warning).toContain(`http://127.0.0.1:${port}`);
    expect(body.warning).toContain("did not answer");
    const metrics = await (await fetch(`${h.live.url}/metrics`)).text();
    expect(metrics).toMatch(/bms_live_history_failures_total [1-9]/);
  });

  it("falls back on the live buffer when the server answers an error, garbage or the wrong shape", async () => {
    const cases: Array<{ answer: { status: number; body: string }; says: string }> = [
      { answer: { status: 500, body: '{"error":"disk full"}' }, says: "HTTP 500" },
      { answer: { status: 200, body: "<html>not json" }, says: "not JSON" },
      { answer: { status: 200, body: '{"results":"nope"}' }, says: "not what /query answers" },
      { answer: { status: 200, body: '{"results":[{"error":"database not found: bms"}]}' }, says: "database not found" },
    ];
    for (const { answer, says } of cases) {
      const hostile = await hostileServer((path) => (path.startsWith("/api/v1/") ? { status: 404, body: "404 page not found" } : answer));
      try {
        const h = await harness({ url: hostile.url });
        const { status, body } = await history(h, "");
        expect(status, says).toBe(200);
        expect(body.source, says).toBe("live");
        expect(body.warning, says).toContain(says);
      } finally {
        hostile.server.close();
      }
    }
  });

  it("refuses bad windows and point budgets with 400 naming the field", async () => {
    const h = await harness({ url: vm.url });
    for (const query of [
      "maxPoints=0",
      "maxPoints=1",
      "maxPoints=5001",
      "maxPoints=abc",
      "maxPoints=-5",
      `from=${T + 10}&to=${T}`,
      "from=1e12",
      "to=now",
      "extra=1",
    ]) {
      const { status, body } = await history(h, query);
      expect(status, query).toBe(400);
      expect(body.error, query).toBeTruthy();
    }
  });
});

describe("GET /api/packs/:siteId/:packId/history without a time-series server", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it("answers from the live buffer, and 404 for a pack the service never heard of", async () => {
    await h.publish("bms/site-t/pack-1/telemetry", sample({ seq: 1, soc: 40 }));
    await expect.poll(async () => (await history(h, "")).body.points?.length, { timeout: 10_000 }).toBe(1);
    expect((await history(h, "")).body).toMatchObject({ source: "live", resolutionMs: null });
    const unknown = await fetch(`${h.live.url}/api/packs/site-t/nope/history`, { headers: auth });
    expect(unknown.status).toBe(404);
  });
});
