import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { PlausibilityConfig } from "@bms/shared/config/edge-agent-config";
import { driveInRealTime, loadDeviceProfile, parseScenario, ScenarioRunner, startModbusTcpServer } from "@bms/simulators";
import ModbusRTU from "modbus-serial";
import { AGENT_NODE_FLAGS } from "../../edge-agent/src/node-flags";
import { PlausibilityFilter } from "../../edge-agent/src/plausibility-filter";
import type { DeviceReader } from "../../edge-agent/src/readers/device-reader";
import { ProfileDeviceReader } from "../../edge-agent/src/readers/profile-device-reader";
import { SunSpecDeviceReader } from "../../edge-agent/src/readers/sunspec-device-reader";
import { ModbusTcpTransport } from "../../edge-agent/src/transports/modbus-tcp-transport";
import { MAX_REGISTERS_PER_READ, type RegisterSpace, type RegisterTransport } from "../../edge-agent/src/transports/register-transport";
import { startAedesBroker } from "../support/aedes-broker";
import { buildBundles, REPO_ROOT, runScript } from "../support/cli";
import { waitFor } from "../support/free-port";
import { cpuSecondsOf, peakRssOf, rssOf } from "../support/process-usage";
import { makeTempDir } from "../support/temp-dir";
import { percentile } from "./burst";

/**
 * The edge agent's figures for `npm run bench`, in one run against the simulator over Modbus TCP:
 *  1. registers read per second by the agent's read path (transport, reader, decoding, plausibility
 *     filter and validation) against a bare modbus-serial client reading exactly the same requests
 *     on the same server, one after the other (the baseline). The agent polls each pack in a loop
 *     of its own (DevicePoller), so the packs behind one connection queue on it together: a pass
 *     polls the 16 packs at once, and the transport sends their requests one at a time (while one
 *     pack's reply is decoded, the next request is on the wire). AGENT_BENCH_POLL=sequential
 *     polls them one after the other instead (no overlap: every bit of the agent's work counts);
 *     for SunSpec (16 packs) and for the vendor profile;
 *  2. the agent as a command (`npm run agent`, with its shipped Node flags) with 16 packs at 1 Hz: CPU and memory of its process.
 * The simulator runs in a process of its own (agent-bench-simulator.ts). AGENT_BENCH_ROUNDS (default 9) sets the
 * rounds (each gives a ratio; the median is printed), AGENT_BENCH_ROUND_SECONDS (default 2) a round's length,
 * AGENT_BENCH_CPU_SECONDS (default 30) the CPU window.
 */
const ROUNDS = Number(process.env.AGENT_BENCH_ROUNDS ?? 9);
const ROUND_S = Number(process.env.AGENT_BENCH_ROUND_SECONDS ?? 2);
const CPU_S = Number(process.env.AGENT_BENCH_CPU_SECONDS ?? 30);
const CONCURRENT = process.env.AGENT_BENCH_POLL !== "sequential";
const PACKS = 16;
const VENDOR_PROFILE = join(REPO_ROOT, "simulators", "profiles", "vendor-example.yaml");

interface Request {
  space: RegisterSpace;
  unitId: number;
  address: number;
  count: number;
}

/**
 * Remembers the requests the agent sends while `recording` (as the transport sends them: at most
 * 125 registers a request); otherwise it only passes calls on, adding nothing to the measured path.
 */
class RecordingTransport implements RegisterTransport {
  recording: Request[] | null = [];
  constructor(private readonly inner: RegisterTransport) {}
  get endpoint() {
    return this.inner.endpoint;
  }
  private record(space: RegisterSpace, unitId: number, address: number, count: number) {
    for (let at = 0; at < count; at += MAX_REGISTERS_PER_READ) {
      this.recording?.push({ space, unitId, address: address + at, count: Math.min(MAX_REGISTERS_PER_READ, count - at) });
    }
  }
  readHoldingRegisters(unitId: number, address: number, count: number) {
    if (this.recording) this.record("holding", unitId, address, count);
    return this.inner.readHoldingRegisters(unitId, address, count);
  }
  readInputRegisters(unitId: number, address: number, count: number) {
    if (this.recording) this.record("input", unitId, address, count);
    return this.inner.readInputRegisters(unitId, address, count);
  }
  close() {
    return this.inner.close();
  }
}

/** The unit IDs of the frozen site the bench's simulator serves (agent-bench-simulator.ts). */
function unitIds(): number[] {
  return new ScenarioRunner(parseScenario({ name: "bench", seed: 3, packs: PACKS })).packs.map((p) => p.unitId);
}

/** The bench's simulator in its own process; resolves once it listens. */
async function startSimulator(map: string): Promise<{ port: number; stop(): Promise<void> }> {
  const child = runScript("test/bench/agent-bench-simulator.ts", [String(PACKS), map], { env: { ...process.env, LOG_LEVEL: "warn" } });
  try {
    await waitFor(() => /port \d+/.test(child.stdout()), 30_000, `the bench's simulator to listen\n${child.output()}`);
  } catch (err) {
    child.child.kill();
    throw err;
  }
  return {
    port: Number(/port (\d+)/.exec(child.stdout())?.[1]),
    async stop() {
      child.child.kill("SIGTERM");
      await child.exited;
    },
  };
}

/** The middle round (9 rounds by default: the fifth). */
const median = (values: readonly number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

/** A side's registers and the time it took, ms. */
interface Tally {
  registers: number;
  ms: number;
}

/** Runs one pass of `step` (which returns the registers it read) and adds it to `tally`. */
async function timed(tally: Tally, step: () => Promise<number>): Promise<void> {
  const t0 = performance.now();
  tally.registers += await step();
  tally.ms += performance.now() - t0;
}

/**
 * One round: passes of the agent and of the bare client alternate (a pass is one poll of every
 * pack, a few ms), so that load from elsewhere on the machine hits both alike, until `seconds`
 * have gone by; each side's registers per second.
 */
async function round(seconds: number, agentPass: () => Promise<number>, barePass: () => Promise<number>): Promise<{ agent: number; bare: number }> {
  const agent: Tally = { registers: 0, ms: 0 };
  const bare: Tally = { registers: 0, ms: 0 };
  const t0 = performance.now();
  for (let pass = 0; performance.now() - t0 < seconds * 1000; pass++) {
    // Who goes first alternates too: neither always follows the other's garbage.
    if (pass % 2 === 0) {
      await timed(agent, agentPass);
      await timed(bare, barePass);
    } else {
      await timed(bare, barePass);
      await timed(agent, agentPass);
    }
  }
  return { agent: agent.registers / (agent.ms / 1000), bare: bare.registers / (bare.ms / 1000) };
}

export interface Throughput {
  /** Medians over the rounds, registers/s. */
  agent: number;
  bare: number;
  /** Median, lowest and highest of the rounds' agent/bare ratios. */
  ratio: number;
  ratioMin: number;
  ratioMax: number;
}

/** The agent's read path against the bare client on one simulator: ROUNDS rounds after a warm-up one, each giving a ratio. */
async function throughput(map: string, readerFor: (t: RegisterTransport, unitId: number) => DeviceReader): Promise<Throughput> {
  const simulator = await startSimulator(map);
  const transport = new RecordingTransport(new ModbusTcpTransport({ host: "127.0.0.1", port: simulator.port, timeoutMs: 2000 }));
  const bare = new ModbusRTU();
  try {
    const plausibility = PlausibilityConfig.parse({});
    const packs = unitIds().map((unitId) => ({ reader: readerFor(transport, unitId), filter: new PlausibilityFilter(plausibility, 10_000) }));
    const pollPack = async ({ reader, filter }: (typeof packs)[number]) => {
      const verdict = filter.check((await reader.read()).sample);
      if (verdict.release.length !== 1) throw new Error(`bench: a sample did not pass: ${verdict.rejected ?? JSON.stringify(verdict.suspect)}`);
    };
    const poll = async () => {
      if (CONCURRENT) await Promise.all(packs.map(pollPack));
      else for (const pack of packs) await pollPack(pack);
    };
    await poll(); // discovery and identity reads
    transport.recording = [];
    await poll();
    const requests = transport.recording;
    transport.recording = null;
    // After discovery every poll sends the same requests (each reply's length is checked by the transport).
    const perPoll = requests.reduce((sum, r) => sum + r.count, 0);
    const agentPass = async () => {
      await poll();
      return perPoll;
    };

    // The baseline: the same requests, one after the other, on a bare client.
    await bare.connectTCP("127.0.0.1", { port: simulator.port });
    bare.setTimeout(2000);
    const barePass = async () => {
      let registers = 0;
      for (const r of requests) {
        bare.setID(r.unitId);
        const { data } = r.space === "input" ? await bare.readInputRegisters(r.address, r.count) : await bare.readHoldingRegisters(r.address, r.count);
        registers += data.length;
      }
      return registers;
    };

    await round(ROUND_S, agentPass, barePass); // warm-up
    const agent: number[] = [];
    const baseline: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const measured = await round(ROUND_S, agentPass, barePass);
      agent.push(measured.agent);
      baseline.push(measured.bare);
    }
    const ratios = agent.map((a, i) => a / (baseline[i] ?? Number.NaN));
    return { agent: median(agent), bare: median(baseline), ratio: median(ratios), ratioMin: Math.min(...ratios), ratioMax: Math.max(...ratios) };
  } finally {
    await transport.close();
    await new Promise<void>((resolve) => (bare.isOpen ? bare.close(() => resolve()) : resolve()));
    await simulator.stop();
  }
}

const MIB = 1024 * 1024;

/** utime + stime of a process, seconds; and its resident memory now and at its peak, MiB. */
function processUsage(pid: number): { cpuS: number; rssMiB: number; peakMiB: number } {
  return { cpuS: cpuSecondsOf(pid), rssMiB: rssOf(pid) / MIB, peakMiB: peakRssOf(pid) / MIB };
}

async function agentAt1Hz(): Promise<Record<string, number>> {
  const runner = new ScenarioRunner(parseScenario({ name: "bench", seed: 3, packs: PACKS }));
  const driver = driveInRealTime(runner);
  const server = await startModbusTcpServer({ host: "127.0.0.1", port: 0, devices: runner.packs });
  const broker = await startAedesBroker();
  let telemetry = 0;
  broker.aedes.on("publish", (packet) => {
    if (packet.topic.endsWith("/telemetry")) telemetry += 1;
  });
  const dir = makeTempDir("bms-agent-bench-");
  const config = join(dir.path, "site.json");
  writeFileSync(
    config,
    JSON.stringify({
      siteId: "bench",
      pollIntervalMs: 1000,
      devices: runner.packs.map((p) => ({
        packId: `pack-${p.unitId}`,
        transport: { kind: "modbus-tcp", host: "127.0.0.1", port: server.port, unitId: p.unitId },
      })),
    }),
  );
  // As shipped: the bundle of `npm run build` with the agent's runtime flags (npm run agent, docker-compose.yml).
  buildBundles();
  const agent = runScript("edge-agent/dist/main.js", ["--config", config], {
    via: "built",
    env: { ...process.env, MQTT_URL: broker.url, DATA_DIR: join(dir.path, "data"), LOG_LEVEL: "warn" },
    nodeFlags: AGENT_NODE_FLAGS,
  });
  try {
    const pid = agent.child.pid;
    if (pid === undefined) throw new Error("bench: the agent did not start");
    await waitFor(() => telemetry >= 2 * PACKS, 30_000, `the agent's first samples\n${agent.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 5000)); // past start-up (discovery, first connections)
    const before = processUsage(pid);
    const samplesBefore = telemetry;
    const t0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, CPU_S * 1000));
    const after = processUsage(pid);
    const seconds = (performance.now() - t0) / 1000;
    return {
      agentCpuPct16Packs1Hz: (100 * (after.cpuS - before.cpuS)) / seconds,
      agentRssMiB16Packs1Hz: after.rssMiB,
      agentPeakRssMiB16Packs1Hz: after.peakMiB,
      agentSamplesPerS16Packs1Hz: (telemetry - samplesBefore) / seconds,
    };
  } finally {
    agent.child.kill("SIGTERM");
    await agent.exited;
    driver.stop();
    await server.close();
    await broker.stop();
    dir.remove();
  }
}

export async function benchAgent(): Promise<Record<string, number>> {
  const vendor = loadDeviceProfile(VENDOR_PROFILE);
  const sunspec = await throughput("sunspec", (t, unitId) => new SunSpecDeviceReader(t, unitId));
  const profiled = await throughput(VENDOR_PROFILE, (t, unitId) => new ProfileDeviceReader(t, unitId, vendor));
  const results: Record<string, number> = {
    agentSunSpecRegistersPerS: sunspec.agent,
    bareSunSpecRegistersPerS: sunspec.bare,
    agentToBareSunSpecRatio: sunspec.ratio,
    agentToBareSunSpecRatioMin: sunspec.ratioMin,
    agentToBareSunSpecRatioMax: sunspec.ratioMax,
    agentVendorRegistersPerS: profiled.agent,
    bareVendorRegistersPerS: profiled.bare,
    agentToBareVendorRatio: profiled.ratio,
    agentToBareVendorRatioMin: profiled.ratioMin,
    agentToBareVendorRatioMax: profiled.ratioMax,
    ...(await agentAt1Hz()),
  };
  const f = (n: number | undefined, digits = 0) => (n === undefined ? "-" : n.toFixed(digits));
  const line = (name: string, t: Throughput) =>
    `  ${name} agent ${f(t.agent)} registers/s, bare modbus-serial client ${f(t.bare)} registers/s (same requests), ratio ${f(t.ratio, 2)} (rounds ${f(t.ratioMin, 2)}–${f(t.ratioMax, 2)})`;
  process.stdout.write(
    [
      `bench: edge agent against the simulator (its own process) over Modbus TCP (${PACKS} packs polled ${CONCURRENT ? "concurrently" : "one after the other"}; agent and bare client alternating; medians of ${ROUNDS} rounds of ${ROUND_S} s)`,
      line("SunSpec (802 + 805, 16 cells):", sunspec),
      line("vendor profile (3 requests):  ", profiled),
      `  npm run agent (node ${AGENT_NODE_FLAGS.join(" ")}), ${PACKS} packs at 1 Hz over ${CPU_S} s: CPU ${f(results.agentCpuPct16Packs1Hz, 1)} % of one core, RSS ${f(results.agentRssMiB16Packs1Hz, 0)} MiB (peak ${f(results.agentPeakRssMiB16Packs1Hz, 0)} MiB), ${f(results.agentSamplesPerS16Packs1Hz, 1)} samples/s published`,
      "",
    ].join("\n"),
  );
  return results;
}
