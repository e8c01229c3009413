import { readFileSync, writeFileSync } from "node:fs";
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
import { canConnect, freePort, waitFor } from "../support/free-port";
import { makeTempDir } from "../support/temp-dir";

/**
 * The edge agent's figures for `npm run bench`, in one run against the simulator over Modbus TCP:
 *  1. registers read per second by the agent's read path (the simulator in its own process) (transport, reader, decoding, plausibility
 *     filter and validation; packs read one after the other, as a poller round does) against a bare
 *     modbus-serial client reading exactly the same requests on the same server (the baseline);
 *     for SunSpec (16 packs) and for the vendor profile;
 *  2. the agent as a command (`npm run agent`, with its shipped Node flags) with 16 packs at 1 Hz: CPU and memory of its process.
 * AGENT_BENCH_SECONDS (default 5) sets each throughput run, AGENT_BENCH_CPU_SECONDS (default 30) the CPU window.
 */
const RUN_S = Number(process.env.AGENT_BENCH_SECONDS ?? 5);
const CPU_S = Number(process.env.AGENT_BENCH_CPU_SECONDS ?? 30);
const PACKS = 16;
const VENDOR_PROFILE = join(REPO_ROOT, "simulators", "profiles", "vendor-example.yaml");

interface Request {
  space: RegisterSpace;
  unitId: number;
  address: number;
  count: number;
}

/** Counts what goes over the wire and remembers the requests of one round. */
class CountingTransport implements RegisterTransport {
  registers = 0;
  recording: Request[] | null = [];
  constructor(private readonly inner: RegisterTransport) {}
  get endpoint() {
    return this.inner.endpoint;
  }
  private count(space: RegisterSpace, unitId: number, address: number, count: number, words: Promise<number[]>) {
    // As the transport sends them: at most 125 registers a request.
    for (let at = 0; at < count; at += MAX_REGISTERS_PER_READ) {
      this.recording?.push({ space, unitId, address: address + at, count: Math.min(MAX_REGISTERS_PER_READ, count - at) });
    }
    return words.then((w) => {
      this.registers += w.length;
      return w;
    });
  }
  readHoldingRegisters(unitId: number, address: number, count: number) {
    return this.count("holding", unitId, address, count, this.inner.readHoldingRegisters(unitId, address, count));
  }
  readInputRegisters(unitId: number, address: number, count: number) {
    return this.count("input", unitId, address, count, this.inner.readInputRegisters(unitId, address, count));
  }
  close() {
    return this.inner.close();
  }
}

/**
 * The simulator in a process of its own (the bundle of `npm run build`), as a BMS is a device of
 * its own: the agent and the bare client then differ only in their own work and round trips.
 */
async function startSimulatorProcess(protocol: "sunspec" | "vendor"): Promise<{ port: number; stop: () => Promise<void> }> {
  buildBundles();
  const port = await freePort();
  const sim = runScript("simulators/dist/main.js", ["--port", String(port), "--packs", String(PACKS), "--protocol", protocol, "--seed", "3"], {
    via: "built",
    env: { ...process.env, LOG_LEVEL: "warn" },
  });
  await waitFor(() => canConnect(port), 30_000, `the simulator on port ${port}\n${sim.output()}`);
  return {
    port,
    stop: async () => {
      sim.child.kill("SIGTERM");
      await sim.exited;
    },
  };
}

async function throughput(
  protocol: "sunspec" | "vendor",
  readerFor: (t: RegisterTransport, unitId: number) => DeviceReader,
): Promise<{ agent: number; bare: number }> {
  const server = await startSimulatorProcess(protocol);
  const unitIds = Array.from({ length: PACKS }, (_, i) => i + 1);
  const transport = new CountingTransport(new ModbusTcpTransport({ host: "127.0.0.1", port: server.port, timeoutMs: 2000 }));
  const plausibility = PlausibilityConfig.parse({});
  const packs = unitIds.map((unitId) => ({ reader: readerFor(transport, unitId), filter: new PlausibilityFilter(plausibility, 10_000) }));
  const round = async () => {
    for (const { reader, filter } of packs) {
      const verdict = filter.check((await reader.read()).sample);
      if (verdict.release.length !== 1) throw new Error(`bench: a sample did not pass: ${verdict.rejected ?? JSON.stringify(verdict.suspect)}`);
    }
  };
  await round(); // discovery and identity reads
  transport.recording = [];
  await round();
  const requests = transport.recording;
  transport.recording = null;

  transport.registers = 0;
  let t0 = performance.now();
  while (performance.now() - t0 < RUN_S * 1000) await round();
  const agent = transport.registers / ((performance.now() - t0) / 1000);
  await transport.close();

  // The baseline: the same requests, one after the other, on a bare client.
  const bare = new ModbusRTU();
  await bare.connectTCP("127.0.0.1", { port: server.port });
  bare.setTimeout(2000);
  let registers = 0;
  t0 = performance.now();
  while (performance.now() - t0 < RUN_S * 1000) {
    for (const r of requests) {
      bare.setID(r.unitId);
      const { data } = r.space === "input" ? await bare.readInputRegisters(r.address, r.count) : await bare.readHoldingRegisters(r.address, r.count);
      registers += data.length;
    }
  }
  const bareRate = registers / ((performance.now() - t0) / 1000);
  await new Promise<void>((resolve) => bare.close(() => resolve()));
  await server.stop();
  return { agent, bare: bareRate };
}

/** utime + stime of a process, seconds; and its resident memory now and at its peak, MiB. */
function processUsage(pid: number): { cpuS: number; rssMiB: number; peakMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  return { cpuS: ticks / 100, rssMiB: kib("VmRSS") / 1024, peakMiB: kib("VmHWM") / 1024 };
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
  const profiled = await throughput("vendor", (t, unitId) => new ProfileDeviceReader(t, unitId, vendor));
  const results: Record<string, number> = {
    agentSunSpecRegistersPerS: sunspec.agent,
    bareSunSpecRegistersPerS: sunspec.bare,
    agentToBareSunSpecRatio: sunspec.agent / sunspec.bare,
    agentVendorRegistersPerS: profiled.agent,
    bareVendorRegistersPerS: profiled.bare,
    agentToBareVendorRatio: profiled.agent / profiled.bare,
    ...(await agentAt1Hz()),
  };
  const f = (n: number | undefined, digits = 0) => (n === undefined ? "-" : n.toFixed(digits));
  process.stdout.write(
    [
      `bench: edge agent against the simulator over Modbus TCP (${PACKS} packs, ${RUN_S} s a run, one run)`,
      `  SunSpec (802 + 805, 16 cells): agent ${f(results.agentSunSpecRegistersPerS)} registers/s, bare modbus-serial client ${f(results.bareSunSpecRegistersPerS)} registers/s (same requests), ratio ${f(results.agentToBareSunSpecRatio, 2)}`,
      `  vendor profile (3 requests):   agent ${f(results.agentVendorRegistersPerS)} registers/s, bare modbus-serial client ${f(results.bareVendorRegistersPerS)} registers/s (same requests), ratio ${f(results.agentToBareVendorRatio, 2)}`,
      `  npm run agent (node ${AGENT_NODE_FLAGS.join(" ")}), ${PACKS} packs at 1 Hz over ${CPU_S} s: CPU ${f(results.agentCpuPct16Packs1Hz, 1)} % of one core, RSS ${f(results.agentRssMiB16Packs1Hz, 0)} MiB (peak ${f(results.agentPeakRssMiB16Packs1Hz, 0)} MiB), ${f(results.agentSamplesPerS16Packs1Hz, 1)} samples/s published`,
      "",
    ].join("\n"),
  );
  return results;
}
