import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { LIVE_NAMESPACE, type PackSample, topics } from "@bms/shared";
import mqtt, { type MqttClient } from "mqtt";
import { PackState } from "../../services/live/src/pack-state";
import { startLiveProcess } from "../../services/live/test/live-process";
import { connectRawClient } from "../../services/live/test/raw-socket-client";
import { runScript } from "../support/cli";
import { waitFor } from "../support/free-port";
import { percentile, withoutDelay } from "./burst";

/**
 * The live service in its own process (so that its memory is its own), with a fleet streaming:
 * PACKS packs (sites of 100) send a 16-cell sample a second each. An engineer's socket.io client
 * (test/bench/live-latency-probe.ts, a process of its own) subscribes to one site; measured: sample → socket.io latency (published with `ts` = now, on one
 * clock), and the live process's RSS after the warm-up and at the end of the run. Run at 1000 and
 * 10000 packs, the difference of the RSS is the memory per pack. Then the subscribe flood of
 * issue 8 (100 subscribes every 100 ms from a client that does not read): the RSS before and at
 * the end. BENCH_LIVE_SECONDS (default 40) sets each run's length.
 */
const SECONDS = Number(process.env.BENCH_LIVE_SECONDS ?? 40);
const WARMUP_SECONDS = 10;
const PACKS_PER_SITE = 100;
const SLICES_PER_SECOND = 50;
const TOKEN = "bench-live-token-0123456789";
const MiB = 2 ** 20;

function sample(seq: number): PackSample {
  return {
    v: 1,
    ts: Date.now(),
    seq,
    packVoltage: 52.8,
    current: -10 + (seq % 20),
    soc: 60,
    soh: 97.5,
    cellVoltages: Array.from({ length: 16 }, (_, c) => 3.3 + ((seq + c) % 10) * 0.001),
    cellTemperatures: Array.from({ length: 16 }, (_, c) => 25 + ((seq + c) % 5) * 0.1),
    bmsAlarms: [],
  };
}

export interface LiveStreamFigures {
  packs: number;
  samplesPerS: number;
  delivered: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  rssAfterWarmupMiB: number;
  rssEndMiB: number;
  /** CPU time of the live process per sample received, µs (what decides how many packs one core serves). */
  cpuPerSampleUs: number;
}

/** One run: `packs` streaming for SECONDS, an engineer subscribed to site 0. */
async function streamRun(packs: number): Promise<LiveStreamFigures> {
  const live = await startLiveProcess({ engineerTokens: [TOKEN], maxPacks: Math.max(10_000, packs) });
  const publishers: MqttClient[] = await Promise.all(Array.from({ length: 4 }, () => mqtt.connectAsync(live.broker.url).then(withoutDelay)));
  // The engineer's client runs in its own process: its event loop is not the publishers'.
  const probe = runScript("test/bench/live-latency-probe.ts", [live.url, TOKEN, "live-site-0", String(WARMUP_SECONDS), String(SECONDS)], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
  await waitFor(() => probe.stdout().includes("subscribed"), 30_000, "the latency probe to subscribe");
  let seq = 0;
  let slice = 0;
  const perSlice = Math.ceil(packs / SLICES_PER_SECOND);
  // Every 20 ms a fiftieth of the fleet reports: every pack once a second, spread over the second as a fleet is.
  const timer = setInterval(() => {
    const first = (slice % SLICES_PER_SECOND) * perSlice;
    slice++;
    seq++;
    for (let p = first; p < Math.min(first + perSlice, packs); p++) {
      const topic = topics.telemetry(`live-site-${Math.floor(p / PACKS_PER_SITE)}`, `pack-${p % PACKS_PER_SITE}`);
      (publishers[p % publishers.length] as MqttClient).publish(topic, JSON.stringify(sample(seq)), { qos: 0 });
    }
  }, 1000 / SLICES_PER_SECOND);
  try {
    await new Promise((r) => setTimeout(r, WARMUP_SECONDS * 1000));
    const rssAfterWarmup = live.rssBytes();
    const cpuBefore = live.cpuSeconds();
    const received = await live.metric("bms_live_mqtt_messages_total", 'kind="telemetry"');
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const rssEnd = live.rssBytes();
    const cpuPerSampleUs = ((live.cpuSeconds() - cpuBefore) * 1e6) / ((await live.metric("bms_live_mqtt_messages_total", 'kind="telemetry"')) - received);
    if ((await probe.exited) !== 0) throw new Error(`the latency probe failed: ${probe.output()}`);
    const latencies = (JSON.parse(probe.stdout().trim().split("\n").pop() ?? "[]") as number[]).sort((a, b) => a - b);
    return {
      packs,
      samplesPerS: packs,
      delivered: latencies.length,
      latencyP50Ms: percentile(latencies, 50),
      latencyP99Ms: percentile(latencies, 99),
      rssAfterWarmupMiB: rssAfterWarmup / MiB,
      rssEndMiB: rssEnd / MiB,
      cpuPerSampleUs,
    };
  } finally {
    clearInterval(timer);
    if (probe.child.exitCode === null) probe.child.kill();
    await Promise.all(publishers.map((p) => p.endAsync()));
    await live.stop();
  }
}

export interface LiveFloodFigures {
  rssBeforeMiB: number;
  rssPeakMiB: number;
  rssEndMiB: number;
  dropped: number;
}

/** Issue 8's flood: a site of 100 packs at 1 Hz, a client sending 100 subscribes every 100 ms and reading nothing. */
async function floodRun(): Promise<LiveFloodFigures> {
  const live = await startLiveProcess({ engineerTokens: [TOKEN] });
  const publisher = withoutDelay(await mqtt.connectAsync(live.broker.url));
  let seq = 0;
  const publishSite = () => {
    seq++;
    for (let p = 0; p < PACKS_PER_SITE; p++) publisher.publish(topics.telemetry("flood-site", `pack-${p}`), JSON.stringify(sample(seq)), { qos: 0 });
  };
  publishSite();
  const streamer = setInterval(publishSite, 1000);
  try {
    await new Promise((r) => setTimeout(r, 3000));
    const rssBefore = live.rssBytes();
    const flooder = await connectRawClient(live.url, LIVE_NAMESPACE, { token: TOKEN }, { paused: true });
    let ack = 0;
    const flood = setInterval(() => {
      for (let i = 0; i < 100; i++) flooder.emit("subscribe", { siteId: "flood-site" }, ack++);
    }, 100);
    let peak = rssBefore;
    for (let s = 0; s < SECONDS; s++) {
      await new Promise((r) => setTimeout(r, 1000));
      peak = Math.max(peak, live.rssBytes());
    }
    clearInterval(flood);
    flooder.close();
    return {
      rssBeforeMiB: rssBefore / MiB,
      rssPeakMiB: peak / MiB,
      rssEndMiB: live.rssBytes() / MiB,
      dropped: await live.metric("bms_live_sockets_dropped_total"),
    };
  } finally {
    clearInterval(streamer);
    await publisher.endAsync();
    await live.stop();
  }
}

/** A full garbage collection, without starting node with --expose-gc. */
function collectGarbage(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

/**
 * What the live service holds per pack once its history is full: `packs` packs with meta, a latest
 * sample and 600 samples of history each, measured as the JS heap and array buffers they keep
 * (after a full GC), divided by the packs. Messages come and go; this is what stays.
 */
export function heldPerPackBytes(packs: number): number {
  collectGarbage();
  const before = process.memoryUsage();
  const state = new PackState({ historyPerPack: 600, maxPacks: packs });
  const t0 = Date.now() - 600_000;
  for (let p = 0; p < packs; p++) {
    const siteId = `held-site-${Math.floor(p / PACKS_PER_SITE)}`;
    const packId = `pack-${p % PACKS_PER_SITE}`;
    state.setMeta(siteId, packId, {
      v: 1,
      ts: t0,
      manufacturer: "Acme",
      model: "LFP-48-100",
      serial: `SN-${p}`,
      bmsFirmware: "1.2.3",
      chemistry: "LFP",
      cellCount: 16,
      ratedCapacity: 100,
    });
    for (let i = 0; i < 600; i++) state.addSample(siteId, packId, { ...sample(i), ts: t0 + i * 1000 }, t0 + i * 1000);
  }
  collectGarbage();
  const after = process.memoryUsage();
  const held = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
  if (state.packCount !== packs) throw new Error("packs missing");
  return held / packs;
}

export interface LiveBenchFigures {
  runs: LiveStreamFigures[];
  /** (RSS at the larger fleet − RSS at the smaller) ÷ the packs between them, at the end of the runs. */
  memoryPerPackKiB: number;
  /** Heap and buffers held per pack with a full 600-sample history, at 1000 and 10000 packs. */
  heldPerPackKiB: { packs: number; kib: number }[];
  flood: LiveFloodFigures;
}

export async function benchLive(fleets: readonly number[] = [1000, 10_000]): Promise<LiveBenchFigures> {
  const heldPerPackKiB = fleets.map((packs) => ({ packs, kib: heldPerPackBytes(packs) / 1024 }));
  const runs: LiveStreamFigures[] = [];
  for (const packs of fleets) runs.push(await streamRun(packs));
  const first = runs[0];
  const last = runs[runs.length - 1];
  const memoryPerPackKiB = first && last && last !== first ? ((last.rssEndMiB - first.rssEndMiB) * 1024) / (last.packs - first.packs) : Number.NaN;
  return { runs, memoryPerPackKiB, heldPerPackKiB, flood: await floodRun() };
}

/** The lines `npm run bench` prints. */
export function formatLiveBench(f: LiveBenchFigures): string {
  const n = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : "-");
  const lines = f.runs.map(
    (r) =>
      `  live, ${r.packs} packs streaming (${r.samplesPerS} samples/s)  sample → socket.io p50 ${n(r.latencyP50Ms)} ms, p99 ${n(r.latencyP99Ms)} ms (${r.delivered} samples of one site); ${n(r.cpuPerSampleUs, 0)} µs CPU a sample; RSS ${n(r.rssAfterWarmupMiB, 0)} MiB after ${WARMUP_SECONDS} s, ${n(r.rssEndMiB, 0)} MiB after ${WARMUP_SECONDS + SECONDS} s`,
  );
  lines.push(`  live memory per pack                 ${n(f.memoryPerPackKiB)} KiB (difference of the runs' RSS over their packs)`);
  lines.push(
    `  live memory held per pack, history full  ${f.heldPerPackKiB.map((h) => `${n(h.kib)} KiB at ${h.packs} packs`).join(", ")} (heap + buffers after GC, 600 samples, meta and latest sample a pack)`,
  );
  lines.push(
    `  live under the subscribe flood       RSS ${n(f.flood.rssBeforeMiB, 0)} MiB before, peak ${n(f.flood.rssPeakMiB, 0)} MiB, ${n(f.flood.rssEndMiB, 0)} MiB after ${SECONDS} s (100 subscribes every 100 ms, client not reading; ${f.flood.dropped} socket dropped)`,
  );
  return `${lines.join("\n")}\njson-live: ${JSON.stringify(f)}\n`;
}
