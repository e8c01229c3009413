import type { CaseEvent, SitePackSample, SubscribeAck } from "@bms/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../../test/support/free-port";
import { collectFeed, connected, emitWithAck, type Harness, openCase, sample, startHarness, TOKEN } from "./live-harness";
import { connectRawClient } from "./raw-socket-client";

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ maxSubscriptionsPerSocket: 3 });
});
afterAll(async () => {
  await h?.close();
});

async function waitForMetric(name: string, labels: string, atLeast: number): Promise<void> {
  await waitFor(
    async () => {
      const text = await (await fetch(`${h.live.url}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}}`));
      return line !== undefined && Number(line.split(" ").pop()) >= atLeast;
    },
    5000,
    `${name}{${labels}} >= ${atLeast}`,
  );
}

describe("socket.io authentication", () => {
  it.each([
    ["no auth", null],
    ["a wrong token", { token: "wrong-token-wrong-token-wrong" }],
    ["an empty token", { token: "" }],
    ["a token of the wrong type", { token: ["test-engineer-token-0123456789"] }],
    ["a long token", { token: "x".repeat(10_000) }],
  ])("refuses %s with connect_error 'unauthorized'", async (_what, auth) => {
    const socket = h.socket(auth);
    const error = await new Promise<Error>((resolve, reject) => {
      socket.once("connect", () => reject(new Error("connected without a valid token")));
      socket.once("connect_error", resolve);
    });
    expect(error.message).toBe("unauthorized");
    expect(socket.connected).toBe(false);
  });

  it("drops a handshake over the size limit and keeps serving", async () => {
    const socket = h.socket({ token: "x".repeat(100_000) });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => reject(new Error("connected with a 100 kB token")));
      socket.once("connect_error", () => resolve());
      socket.io.once("close", () => resolve());
    });
    expect(socket.connected).toBe(false);
    const good = h.socket();
    await connected(good);
  });

  it("accepts the engineer token", async () => {
    const socket = h.socket();
    await connected(socket);
    expect(socket.connected).toBe(true);
  });
});

describe("subscribe", () => {
  it("sends the latest sample at once, then live samples, then case events of that scope", async () => {
    await h.publish("bms/site-1/pack-a/telemetry", sample({ seq: 1, soc: 50 }));
    await h.publish("bms/site-1/pack-b/telemetry", sample({ seq: 1, soc: 60 }));
    await h.publish("bms/site-2/pack-a/telemetry", sample({ seq: 1, soc: 70 }));
    await waitFor(async () => {
      const packs = (await (
        await fetch(`${h.live.url}/api/packs`, { headers: { authorization: "Bearer test-engineer-token-0123456789" } })
      ).json()) as unknown[];
      return packs.length >= 3;
    });

    const socket = h.socket();
    await connected(socket);
    const { samples, cases } = collectFeed(socket);

    expect(await emitWithAck<SubscribeAck>(socket, "subscribe", { siteId: "site-1" })).toEqual({ ok: true, room: "site:site-1" });
    await waitFor(() => samples.length >= 2, 5000, "the snapshot");
    expect(samples.map((s) => [s.siteId, s.packId, s.soc]).sort()).toEqual([
      ["site-1", "pack-a", 50],
      ["site-1", "pack-b", 60],
    ]);

    await h.publish("bms/site-1/pack-a/telemetry", sample({ seq: 2, soc: 51 }));
    await h.publish("bms/site-2/pack-a/telemetry", sample({ seq: 2, soc: 71 }));
    await waitFor(() => samples.some((s) => s.packId === "pack-a" && s.soc === 51), 5000, "a live sample");

    const opened = await openCase(h.caseStore, "site-1", "pack-b");
    const event: CaseEvent = { type: "opened", case: opened };
    await h.publish("cases/site-1/pack-b", event);
    const other = await openCase(h.caseStore, "site-2", "pack-a");
    await h.publish("cases/site-2/pack-a", { type: "opened", case: other });
    await waitFor(() => cases.length >= 1, 5000, "a case event");
    expect(cases[0]).toEqual(event);

    // Nothing from site-2 reached this subscriber (a later site-1 message marks "everything before has arrived").
    await h.publish("bms/site-1/pack-b/telemetry", sample({ seq: 2, soc: 61 }));
    await waitFor(() => samples.some((s) => s.packId === "pack-b" && s.soc === 61), 5000, "the marker sample");
    expect(samples.filter((s) => s.siteId !== "site-1")).toEqual([]);
    expect(cases.map((c) => c.case.id)).toEqual([opened.id]);
  });

  it("a pack subscription gets only that pack; unsubscribe stops the feed", async () => {
    const socket = h.socket();
    await connected(socket);
    const { samples } = collectFeed(socket);
    expect(await emitWithAck<SubscribeAck>(socket, "subscribe", { siteId: "site-1", packId: "pack-b" })).toEqual({ ok: true, room: "pack:site-1/pack-b" });
    await waitFor(() => samples.length >= 1, 5000, "the pack snapshot");
    expect(samples.every((s) => s.packId === "pack-b")).toBe(true);

    expect(await emitWithAck<SubscribeAck>(socket, "unsubscribe", { siteId: "site-1", packId: "pack-b" })).toEqual({ ok: true, room: "pack:site-1/pack-b" });
    const before = samples.length;
    await h.publish("bms/site-1/pack-b/telemetry", sample({ seq: 10, soc: 62 }));
    // A second subscriber sees the sample, so it was broadcast; the unsubscribed one did not get it.
    const watcher = h.socket();
    await connected(watcher);
    const seen: SitePackSample[] = [];
    watcher.on("sample", (s: SitePackSample) => seen.push(s));
    await emitWithAck(watcher, "subscribe", { siteId: "site-1", packId: "pack-b" });
    await h.publish("bms/site-1/pack-b/telemetry", sample({ seq: 11, soc: 63 }));
    await waitFor(() => seen.some((s) => s.soc === 63), 5000, "the watcher's sample");
    expect(samples.length).toBe(before);
  });

  it.each([
    ["nothing", []],
    ["a string", ["site-1"]],
    ["a number", [42]],
    ["null", [null]],
    ["a wrong siteId type", [{ siteId: 1 }]],
    ["a wildcard siteId", [{ siteId: "site/#" }]],
    ["extra keys", [{ siteId: "site-1", admin: true }]],
    ["a huge string", [{ siteId: "s".repeat(10_000) }]],
    ["a prototype-pollution attempt", [JSON.parse('{"siteId":"site-1","__proto__":{"x":1}}')]],
    ["unicode and control characters", [{ siteId: "s\u0000\u202e😀" }]],
  ])("answers a subscribe with %s with { ok: false, error } and keeps working", async (_what, args) => {
    const socket = h.socket();
    await connected(socket);
    const reply = await emitWithAck<SubscribeAck>(socket, "subscribe", ...(args as unknown[]));
    expect(reply).toEqual({ ok: false, error: expect.any(String) });
    if (!reply.ok) expect(reply.error.length).toBeLessThan(1000);
    expect(await emitWithAck<SubscribeAck>(socket, "subscribe", { siteId: "site-1" })).toEqual({ ok: true, room: "site:site-1" });
  });

  it("answers a payload nested deeper than JSON.stringify's stack (sent as raw frames) and keeps serving", async () => {
    const raw = await connectRawClient(h.live.url, "/live", { token: TOKEN }, { paused: false });
    for (const [ackId, payload] of [`{"siteId":${"[".repeat(6000)}${"]".repeat(6000)}}`, `${"[".repeat(7000)}${"]".repeat(7000)}`].entries()) {
      raw.emitRaw("subscribe", payload, ackId);
      expect(await raw.ack(ackId)).toEqual([{ ok: false, error: expect.any(String) }]);
    }
    raw.emit("subscribe", { siteId: "site-1" }, 9);
    expect(await raw.ack(9)).toEqual([{ ok: true, room: "site:site-1" }]);
    raw.close();
  });

  it("copes with a subscribe without an ack callback, and with a message over the size limit", async () => {
    const socket = h.socket();
    await connected(socket);
    socket.emit("subscribe", { siteId: 123 });
    socket.emit("subscribe");
    socket.emit("unsubscribe", "junk");
    // Without an ack the valid subscription still happens.
    const { samples } = collectFeed(socket);
    socket.emit("subscribe", { siteId: "site-2" });
    await waitFor(() => samples.some((s) => s.siteId === "site-2"), 5000, "the snapshot without ack");
    expect(await emitWithAck<SubscribeAck>(socket, "subscribe", { siteId: "site-1" })).toEqual({ ok: true, room: "site:site-1" });

    // A message over maxHttpBufferSize closes that one connection; the server keeps serving others.
    const big = h.socket();
    await connected(big);
    const closed = new Promise<string>((resolve) => big.once("disconnect", resolve));
    big.emit("subscribe", { siteId: "x".repeat(100_000) });
    expect(await closed).toBeTruthy();
    expect(await emitWithAck<SubscribeAck>(socket, "subscribe", { siteId: "site-2" })).toEqual({ ok: true, room: "site:site-2" });
  });

  it("limits subscriptions per socket", async () => {
    const socket = h.socket();
    await connected(socket);
    for (const siteId of ["a1", "a2", "a3"]) {
      expect(await emitWithAck<SubscribeAck>(socket, "subscribe", { siteId })).toEqual({ ok: true, room: `site:${siteId}` });
    }
    // Subscribing again to a room it is in is fine; a fourth room is not.
    expect(await emitWithAck<SubscribeAck>(socket, "subscribe", { siteId: "a1" })).toEqual({ ok: true, room: "site:a1" });
    const refused = await emitWithAck<SubscribeAck>(socket, "subscribe", { siteId: "a4" });
    expect(refused).toEqual({ ok: false, error: expect.stringContaining("at most 3") });
    await emitWithAck(socket, "unsubscribe", { siteId: "a1" });
    expect(await emitWithAck<SubscribeAck>(socket, "subscribe", { siteId: "a4" })).toEqual({ ok: true, room: "site:a4" });
  });
});

describe("limits per socket", () => {
  it("sends a room's snapshot once: a repeated subscribe is acknowledged without one", async () => {
    const socket = h.socket();
    await connected(socket);
    const { samples } = collectFeed(socket);
    expect(await emitWithAck<SubscribeAck>(socket, "subscribe", { siteId: "site-1" })).toEqual({ ok: true, room: "site:site-1" });
    await waitFor(() => samples.length >= 2, 5000, "the snapshot");
    const snapshot = samples.length;
    for (let i = 0; i < 3; i++) expect(await emitWithAck<SubscribeAck>(socket, "subscribe", { siteId: "site-1" })).toEqual({ ok: true, room: "site:site-1" });
    await h.publish("bms/site-1/pack-a/telemetry", sample({ seq: 99, soc: 9.5 }));
    await waitFor(() => samples.some((s) => s.soc === 9.5), 5000, "the marker");
    expect(samples.length).toBe(snapshot + 1);
  });

  it("rate-limits subscribe and unsubscribe: refused in the ack past the burst, dropped when the client keeps on", async () => {
    const own = await startHarness({ subscribeBurst: 4, subscribesPerSecond: 0.1 });
    try {
      const socket = own.socket();
      await connected(socket);
      for (let i = 0; i < 4; i++) expect(await emitWithAck<SubscribeAck>(socket, "subscribe", { siteId: `r${i}` })).toMatchObject({ ok: true });
      const refused = await emitWithAck<SubscribeAck>(socket, "unsubscribe", { siteId: "r0" });
      expect(refused).toEqual({ ok: false, error: "too many subscribe/unsubscribe messages: at most 0.1 a second after a burst of 4" });
      const reason = new Promise<string>((resolve) => socket.once("disconnect", resolve));
      for (let i = 0; i < 3; i++) socket.emit("subscribe", { siteId: "r9" });
      expect(await reason).toBe("io server disconnect");
      const metrics = await (await fetch(`${own.live.url}/metrics`)).text();
      expect(metrics).toContain('bms_live_sockets_dropped_total{reason="rate"} 1');
      expect(metrics).toContain('bms_live_socket_messages_refused_total{reason="rate"} 4');
    } finally {
      await own.close();
    }
  });
});

describe("MQTT input", () => {
  it("never forwards invalid MQTT payloads; counts them", async () => {
    const socket = h.socket();
    await connected(socket);
    const { samples, cases } = collectFeed(socket);
    await emitWithAck(socket, "subscribe", { siteId: "site-bad" });

    await h.publish("bms/site-bad/pack-1/telemetry", "{not json");
    await h.publish("bms/site-bad/pack-1/telemetry", Buffer.from([0xff, 0xfe, 0x00]));
    await h.publish("bms/site-bad/pack-1/telemetry", sample({ soc: 150 }));
    await h.publish("bms/site-bad/pack-1/telemetry", { ...sample(), v: 2 });
    await h.publish("bms/site-bad/pack-1/telemetry", sample({ ts: 1_700_000_000 })); // seconds, not ms
    await h.publish("bms/site-bad/pack-1/meta", { hello: "world" });
    await h.publish("bms/site-bad/status", { state: "maybe", ts: Date.now() });
    await h.publish("cases/site-bad/pack-1", { type: "opened", case: { id: "x" } });
    // A valid case event on the wrong topic: refused, or it would reach the wrong room.
    const misplaced = await openCase(h.caseStore, "site-other", "pack-1");
    await h.publish("cases/site-bad/pack-1", { type: "opened", case: misplaced });
    await h.publish("bms/site-bad/pack-1/extra/telemetry", sample());

    await waitForMetric("bms_live_mqtt_rejected_total", 'reason="invalid-payload"', 6);
    await waitForMetric("bms_live_mqtt_rejected_total", 'reason="invalid-json"', 2);
    await waitForMetric("bms_live_mqtt_rejected_total", 'reason="topic-mismatch"', 1);

    // A valid sample afterwards is delivered: the feed survived and the bad ones are not there.
    await h.publish("bms/site-bad/pack-1/telemetry", sample({ seq: 7, soc: 33 }));
    await waitFor(() => samples.length >= 1, 5000, "the valid sample");
    expect(samples.map((s) => s.soc)).toEqual([33]);
    expect(cases).toEqual([]);
  });

  it("coalesces a burst into the latest sample per pack", async () => {
    const socket = h.socket();
    await connected(socket);
    const { samples } = collectFeed(socket);
    await emitWithAck(socket, "subscribe", { siteId: "site-burst" });
    const t0 = Date.now();
    const burst = Array.from({ length: 200 }, (_, i) => h.publish("bms/site-burst/pack-1/telemetry", sample({ seq: i, ts: t0 + i, soc: i / 2 })));
    await Promise.all(burst);
    await waitFor(() => samples.some((s) => s.seq === 199), 5000, "the last sample of the burst");
    expect(samples.length).toBeLessThan(200);
    // Never goes backwards in time.
    const ts = samples.map((s) => s.ts);
    expect([...ts].sort((a, b) => a - b)).toEqual(ts);
  });

  it("delivers every pack of a site in the same tick, not only the first", async () => {
    const socket = h.socket();
    await connected(socket);
    const packs = new Set<string>();
    socket.on("sample", (s: SitePackSample) => packs.add(s.packId));
    await emitWithAck(socket, "subscribe", { siteId: "site-many" });
    // All published at once, so they land in one coalescing tick.
    await Promise.all(Array.from({ length: 40 }, (_, i) => h.publish(`bms/site-many/pack-${i}/telemetry`, sample({ seq: i }))));
    await waitFor(() => packs.size === 40, 5000, `samples of all 40 packs (got ${packs.size})`);
  });
});

describe("a broken clock", () => {
  it("a sample dated 2099 is ignored: the pack's live view goes on with the samples after it", async () => {
    await h.publish("bms/clock-site/pack-a/telemetry", sample({ seq: 1, soc: 40 }));
    await h.publish("bms/clock-site/pack-a/telemetry", sample({ seq: 2, soc: 99, ts: Date.UTC(2099, 0, 1) }));
    await waitForMetric("bms_live_mqtt_rejected_total", 'reason="clock-ahead"', 1);
    await h.publish("bms/clock-site/pack-a/telemetry", sample({ seq: 3, soc: 42 }));
    const latest = async () => {
      const res = await fetch(`${h.live.url}/api/packs`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const packs = (await res.json()) as { siteId: string; packId: string; sample: SitePackSample | null }[];
      return packs.find((p) => p.siteId === "clock-site" && p.packId === "pack-a")?.sample;
    };
    await waitFor(async () => (await latest())?.seq === 3, 5000, "the sample after the 2099 one to be the latest");
    expect((await latest())?.soc).toBe(42);
  });
});
