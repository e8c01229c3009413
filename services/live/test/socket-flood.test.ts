import { join } from "node:path";
import type { CaseEvent, SitePackSample } from "@bms/shared";
import { openSqliteCaseStore } from "@bms/storage";
import mqtt, { type MqttClient } from "mqtt";
import { io } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../../test/support/free-port";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import { meta, openCase, sample } from "./live-harness";
import { type LiveProcess, startLiveProcess } from "./live-process";
import { connectRawClient } from "./raw-socket-client";

/**
 * Clients that do not read, against the live service in its own process (so that its memory is
 * its own): the subscribe flood of the issue, snapshots of a big site asked for again and again,
 * and reliable case events piling up for a frozen client. The service's memory stays bounded.
 */
const TOKEN = "flood-admin-token-0123456789";
const MiB = 2 ** 20;
/** How much the live process may grow while a client misbehaves (before the fix: 500 MB in 10 s of the flood). */
const GROWTH_BOUND = 64 * MiB;

let live: LiveProcess;
let publisher: MqttClient;
let streamer: NodeJS.Timeout;
let dir: TempDir;

/** Runs `attack` for `seconds`, sampling the live process's RSS every 200 ms; returns the growth over the start. */
async function rssGrowthDuring(seconds: number, attack: () => void, everyMs: number): Promise<number> {
  const base = live.rssBytes();
  let peak = base;
  const attacker = setInterval(attack, everyMs);
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    peak = Math.max(peak, live.rssBytes());
  }
  clearInterval(attacker);
  return peak - base;
}

beforeAll(async () => {
  dir = makeTempDir("bms-live-flood-");
  live = await startLiveProcess({ engineerTokens: [TOKEN] });
  publisher = await mqtt.connectAsync(live.broker.url);
  // The site: 100 packs reporting every second.
  let seq = 0;
  const publishFloodSite = () => {
    seq++;
    for (let i = 0; i < 100; i++) publisher.publish(`bms/flood-site/pack-${i}/telemetry`, JSON.stringify(sample({ seq, ts: Date.now() })), { qos: 0 });
  };
  publishFloodSite();
  streamer = setInterval(publishFloodSite, 1000);
  // A big site: 2000 packs, so that one snapshot is over a megabyte.
  for (let i = 0; i < 2000; i++) publisher.publish(`bms/big-site/pack-${i}/telemetry`, JSON.stringify(sample({ seq: 1 })), { qos: 0 });
  await publisher.publishAsync("bms/big-site/pack-0/meta", JSON.stringify(meta()), { qos: 1 });
  await waitFor(async () => (await fetch(`${live.url}/healthz`).then((r) => r.json()))?.packs >= 2100, 30_000, "2100 packs in the live service");
  // Warm up: one well-behaved client through every path, so that the baseline includes the code's own memory.
  const warm = io(`${live.url}/live`, { auth: { token: TOKEN }, transports: ["websocket"], forceNew: true });
  await warm.timeout(5000).emitWithAck("subscribe", { siteId: "big-site" });
  await new Promise((r) => setTimeout(r, 2000));
  warm.close();
}, 120_000);

afterAll(async () => {
  clearInterval(streamer);
  await publisher?.endAsync();
  await live?.stop();
  dir?.remove();
});

describe("a socket.io client that does not read", () => {
  it("sending subscribe 100 times every 100 ms (the issue's row): memory stays bounded, the flooder is dropped, others are served", async () => {
    const watcher = io(`${live.url}/live`, { auth: { token: TOKEN }, transports: ["websocket"], forceNew: true });
    const seen: SitePackSample[] = [];
    watcher.on("sample", (s: SitePackSample) => seen.push(s));
    await watcher.timeout(5000).emitWithAck("subscribe", { siteId: "flood-site" });

    const flooder = await connectRawClient(live.url, "/live", { token: TOKEN }, { paused: true });
    let ack = 0;
    const growth = await rssGrowthDuring(
      10,
      () => {
        for (let i = 0; i < 100; i++) flooder.emit("subscribe", { siteId: "flood-site" }, ack++);
      },
      100,
    );
    flooder.close();
    expect(growth).toBeLessThan(GROWTH_BOUND);
    // Dropped once: for its rate, or, on a machine too loaded to count its refusals first, for the snapshots piling up unread.
    const dropped =
      (await live.metric("bms_live_sockets_dropped_total", 'reason="rate"')) + (await live.metric("bms_live_sockets_dropped_total", 'reason="buffer"'));
    expect(dropped).toBe(1);
    expect(await live.metric("bms_live_socket_messages_refused_total", 'reason="rate"')).toBeGreaterThanOrEqual(100);
    // The well-behaved client kept getting the site's samples (100 packs a second; a loaded machine may deliver fewer).
    expect(seen.length).toBeGreaterThan(100);
    watcher.close();
  }, 60_000);

  it("asking again and again for a big site's snapshot within the rate: snapshots count in its budget", async () => {
    const refusedBefore = await live.metric("bms_live_socket_messages_refused_total", 'reason="rate"');
    const droppedBefore = await live.metric("bms_live_sockets_dropped_total", 'reason="buffer"');
    const slow = await connectRawClient(live.url, "/live", { token: TOKEN }, { paused: true });
    let ack = 0;
    // 4 subscribe/unsubscribe pairs a second, under the 10 messages a second allowed: 40 snapshots of 2000 packs (~60 MB) asked for.
    const growth = await rssGrowthDuring(
      10,
      () => {
        slow.emit("unsubscribe", { siteId: "big-site" }, ack++);
        slow.emit("subscribe", { siteId: "big-site" }, ack++);
      },
      250,
    );
    expect(growth).toBeLessThan(GROWTH_BOUND);
    // Skipped, not queued: the client is slow, not over its bound, so it stays connected.
    expect(await live.metric("bms_live_sockets_dropped_total", 'reason="buffer"')).toBe(droppedBefore);
    expect(await live.metric("bms_live_socket_messages_refused_total", 'reason="rate"')).toBe(refusedBefore);
    slow.close();
  }, 60_000);

  it("with reliable case events piling up past its budget: dropped, memory bounded", async () => {
    const slow = await connectRawClient(live.url, "/live", { token: TOKEN }, { paused: true });
    slow.emit("subscribe", { siteId: "case-site" }, 1);
    await new Promise((r) => setTimeout(r, 200));
    const before = await live.metric("bms_live_sockets_dropped_total", 'reason="buffer"');
    // Case events of ~6 kB each (a freeze-frame sample of 1000 cells): 2400 of them (15 MB) is past
    // the 8 MiB per-socket bound and what the kernel's buffers hold.
    const store = openSqliteCaseStore(join(dir.path, "cases.db"));
    const opened = await openCase(store, "case-site", "pack-1", "cell-over-voltage", {
      evidence: {
        sample: sample({ cellVoltages: Array.from({ length: 1000 }, (_, i) => 3.3 + i / 100_000) }),
        value: 3.7,
        threshold: 3.65,
        index: 0,
        detail: "d",
        meta: null,
        bmsAlarms: [],
        rulesFired: [],
      },
    });
    await store.close();
    let n = 0;
    const event = (): CaseEvent => ({ type: "updated", case: { ...opened, updatedAt: opened.updatedAt + ++n } });
    const growth = await rssGrowthDuring(
      8,
      () => {
        for (let i = 0; i < 30; i++) publisher.publish("cases/case-site/pack-1", JSON.stringify(event()), { qos: 0 });
      },
      100,
    );
    expect(growth).toBeLessThan(GROWTH_BOUND);
    expect(await live.metric("bms_live_sockets_dropped_total", 'reason="buffer"')).toBe(before + 1);
    slow.close();
  }, 60_000);
});
