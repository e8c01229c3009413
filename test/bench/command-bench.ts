import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { startBroker } from "@bms/broker";
import { startEdgeAgent } from "@bms/edge-agent";
import { startLive } from "@bms/live";
import { type CommandRecord, LIVE_NAMESPACE, parseConfig } from "@bms/shared";
import { BrokerConfig } from "@bms/shared/config/broker-config";
import { EdgeAgentConfig } from "@bms/shared/config/edge-agent-config";
import { LiveConfig } from "@bms/shared/config/live-config";
import { SUNSPEC_DIAGNOSTICS_PROFILE, startSimulator } from "@bms/simulators";
import mqtt from "mqtt";
import { io } from "socket.io-client";
import { waitFor } from "../support/free-port";
import { makeTempDir } from "../support/temp-dir";
import { percentile, withoutDelay } from "./burst";

/**
 * Remote-command round trip for `npm run bench`: an engineer posts `read-event-log` (the BMS's
 * ring of 64 events and its counters) to the live service and waits for the result on socket.io,
 * through the embedded broker, to an agent polling 16 simulated SunSpec packs at 1 Hz over Modbus
 * TCP, one command at a time, round-robin over the packs. Baseline in the same run: a bare MQTT
 * request and reply between two clients on the same broker. COMMAND_BENCH_COUNT (default 200).
 */
const COUNT = Number(process.env.COMMAND_BENCH_COUNT ?? 200);
const PACKS = 16;

export interface CommandBench {
  commands: number;
  packs: number;
  roundTripP50Ms: number;
  roundTripP99Ms: number;
  roundTripMaxMs: number;
  bareMqttP50Ms: number;
  bareMqttP99Ms: number;
  failed: number;
}

const AGENT = { username: "agent-bench", password: "agent-bench-password" };
const LIVE = { username: "live", password: "live-bench-password" };
const BARE = { username: "bare", password: "bare-bench-password" };

async function bareRoundTrips(url: string, count: number): Promise<number[]> {
  const asker = withoutDelay(await mqtt.connectAsync(url, { ...BARE, clientId: "bms-bare-asker" }));
  const answerer = withoutDelay(await mqtt.connectAsync(url, { ...BARE, clientId: "bms-bare-answerer" }));
  await answerer.subscribeAsync("cases/bench/ask", { qos: 1 });
  await asker.subscribeAsync("cases/bench/answer", { qos: 1 });
  answerer.on("message", (_t, payload) => answerer.publish("cases/bench/answer", payload, { qos: 1 }));
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      asker.once("message", () => resolve());
      asker.publish("cases/bench/ask", String(i), { qos: 1 });
    });
    times.push(performance.now() - t0);
  }
  await asker.endAsync();
  await answerer.endAsync();
  return times.sort((a, b) => a - b);
}

export async function benchCommands(): Promise<CommandBench> {
  process.env.LOG_LEVEL ??= "warn";
  const dir = makeTempDir("bms-command-bench-");
  // Accounts as in production: only the live service's account may publish commands.
  const users = [
    { ...AGENT, role: "agent", siteId: "bench-site" },
    { ...LIVE, role: "service", commands: true },
    { ...BARE, role: "service" },
  ];
  const broker = await startBroker(parseConfig(BrokerConfig, { host: "127.0.0.1", port: 0, dataDir: join(dir.path, "broker"), users }, "bench"));
  const sim = await startSimulator({ host: "127.0.0.1", port: 0, packs: PACKS, seed: 21 });
  const token = "bench-engineer-token-0123456789";
  const live = await startLive(
    parseConfig(
      LiveConfig,
      { http: { host: "127.0.0.1", port: 0 }, mqtt: { url: broker.url, ...LIVE }, dataDir: join(dir.path, "live"), engineerTokens: [token] },
      "bench",
    ),
  );
  const agent = await startEdgeAgent(
    parseConfig(
      EdgeAgentConfig,
      {
        siteId: "bench-site",
        mqtt: { url: broker.url, ...AGENT },
        pollIntervalMs: 1000,
        dataDir: join(dir.path, "agent"),
        devices: Array.from({ length: PACKS }, (_, i) => ({
          packId: `pack-${i + 1}`,
          transport: { kind: "modbus-tcp", host: "127.0.0.1", port: sim.port ?? 0, unitId: i + 1 },
          diagnostics: { file: SUNSPEC_DIAGNOSTICS_PROFILE },
        })),
      },
      "bench",
    ),
  );
  const socket = io(`${live.url}${LIVE_NAMESPACE}`, { auth: { token }, transports: ["websocket"] });
  const done = new Map<string, (r: CommandRecord) => void>();
  socket.on("command", (r: CommandRecord) => {
    if (r.status !== "pending" && r.status !== "sent") done.get(r.id)?.(r);
  });
  try {
    await socket.timeout(5000).emitWithAck("subscribe", { siteId: "bench-site" });
    await waitFor(() => agent.health().devices.every((d) => d.state === "ok"), 30_000, "the agent to read every pack");
    const bare = await bareRoundTrips(broker.url, COUNT);
    const times: number[] = [];
    let failed = 0;
    for (let i = 0; i < COUNT; i++) {
      const packId = `pack-${(i % PACKS) + 1}`;
      const t0 = performance.now();
      let settle: (r: CommandRecord) => void = () => {};
      const finished = new Promise<CommandRecord>((resolve) => (settle = resolve));
      const res = await fetch(`${live.url}/api/packs/bench-site/${packId}/commands`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ kind: "read-event-log" }),
      });
      const { id } = (await res.json()) as { id: string };
      done.set(id, settle);
      const record = await finished;
      times.push(performance.now() - t0);
      done.delete(id);
      if (record.status !== "succeeded") failed += 1;
    }
    times.sort((a, b) => a - b);
    return {
      commands: COUNT,
      packs: PACKS,
      roundTripP50Ms: percentile(times, 50),
      roundTripP99Ms: percentile(times, 99),
      roundTripMaxMs: times.at(-1) ?? Number.NaN,
      bareMqttP50Ms: percentile(bare, 50),
      bareMqttP99Ms: percentile(bare, 99),
      failed,
    };
  } finally {
    socket.close();
    await agent.close();
    await live.close();
    await sim.close();
    await broker.close();
    dir.remove();
  }
}

export function formatCommandBench(b: CommandBench): string {
  const f = (n: number) => n.toFixed(1);
  return [
    `  command round trip (post → result on socket.io)  p50 ${f(b.roundTripP50Ms)} ms, p99 ${f(b.roundTripP99Ms)} ms, max ${f(b.roundTripMaxMs)} ms  (${b.commands} read-event-log, one at a time, agent polling ${b.packs} SunSpec packs at 1 Hz; ${b.failed} not succeeded)`,
    `  bare MQTT request → reply (baseline)             p50 ${f(b.bareMqttP50Ms)} ms, p99 ${f(b.bareMqttP99Ms)} ms`,
    `json-commands: ${JSON.stringify(b)}`,
    "",
  ].join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  benchCommands().then(
    (b) => {
      process.stdout.write(formatCommandBench(b));
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`command bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
