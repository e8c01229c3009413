import { createServer } from "node:http";
import { gunzipSync } from "node:zlib";
import { InfluxConfig } from "@bms/shared/config/ingestion-config";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createInfluxWriter } from "../src/influx-writer";

/** What the time-series server got: one entry per request. */
const received: { encoding: string | undefined; body: string }[] = [];
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const raw = Buffer.concat(chunks);
    const encoding = req.headers["content-encoding"];
    received.push({ encoding, body: (encoding === "gzip" ? gunzipSync(raw) : raw).toString() });
    res.writeHead(204).end();
  });
});
let url = "";

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const lines = Array.from({ length: 40 }, (_, i) => `pack,site=s1,pack=p1 voltage=52.${i} ${1_700_000_000_000 + i}`);

describe("the time-series writer", () => {
  it("sends plain line protocol by default, one request per write", async () => {
    received.length = 0;
    const writer = createInfluxWriter(InfluxConfig.parse({ url }));
    await writer.write(lines);
    expect(received).toEqual([{ encoding: undefined, body: lines.join("\n") }]);
  });

  it("joins entries given as UTF-8 bytes the same way, text and bytes mixed", async () => {
    received.length = 0;
    const writer = createInfluxWriter(InfluxConfig.parse({ url }));
    const mixed = lines.map((line, i) => (i % 2 === 0 ? Buffer.from(line) : line));
    await writer.write([
      ...mixed,
      new TextEncoder().encode("cells,site=s1,pack=p1 t1=25.5 1700000000000\nbms_alarm,site=s1,pack=p1,code=ünï active=1 1700000000000"),
    ]);
    expect(received).toEqual([
      {
        encoding: undefined,
        body: [...lines, "cells,site=s1,pack=p1 t1=25.5 1700000000000\nbms_alarm,site=s1,pack=p1,code=ünï active=1 1700000000000"].join("\n"),
      },
    ]);
  });

  it("gzips a request when the config says so", async () => {
    received.length = 0;
    const writer = createInfluxWriter(InfluxConfig.parse({ url, gzip: true }));
    await writer.write(lines);
    expect(received).toEqual([{ encoding: "gzip", body: lines.join("\n") }]);
  });
});
