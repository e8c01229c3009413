import { performance } from "node:perf_hooks";
import { PackModel, parseScenario, ScenarioRunner, startModbusTcpServer } from "@bms/simulators";
import ModbusRTU from "modbus-serial";

/**
 * The simulator's figures for `npm run bench`:
 *  1. one simulated hour of a 16-cell pack at a 1 s step (the cycle load), with and without a
 *     snapshot after every step: median of several runs, ms;
 *  2. registers served per second by the simulator's Modbus TCP server to bare modbus-serial
 *     clients (16 packs at rest, each client reading every pack's whole SunSpec image in requests
 *     of at most 125 registers, one request after the other), with one connection and with four.
 * SIM_BENCH_SECONDS (default 5) sets each throughput run. Runs alone too: `npx tsx test/bench/simulator-bench.ts`.
 */
const RUN_S = Number(process.env.SIM_BENCH_SECONDS ?? 5);
const MODEL_RUNS = 15;
const PACKS = 16;
const IMAGE_START = 40000;
const IMAGE_LENGTH = 244; // SunS … end model of a 16-cell pack

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Median ms of one simulated hour over several runs after two warm-up runs, and the first (cold) run's ms. */
function simulatedHourMs(withSnapshots: boolean): { warm: number; cold: number } {
  const runs: number[] = [];
  let cold = Number.NaN;
  for (let run = 0; run < MODEL_RUNS + 2; run++) {
    const model = new PackModel({ seed: run + 1, load: { kind: "cycle" } });
    const t0 = performance.now();
    for (let s = 0; s < 3600; s++) {
      model.step(1);
      if (withSnapshots) model.snapshot();
    }
    const ms = performance.now() - t0;
    if (run === 0) cold = ms;
    if (run >= 2) runs.push(ms); // the first two warm the JIT
  }
  return { warm: median(runs), cold };
}

async function readForever(port: number, until: number): Promise<number> {
  const client = new ModbusRTU();
  await client.connectTCP("127.0.0.1", { port });
  client.setTimeout(2000);
  let registers = 0;
  try {
    while (performance.now() < until) {
      for (let unitId = 1; unitId <= PACKS; unitId++) {
        client.setID(unitId);
        for (let at = 0; at < IMAGE_LENGTH; at += 125) {
          const { data } = await client.readHoldingRegisters(IMAGE_START + at, Math.min(125, IMAGE_LENGTH - at));
          registers += data.length;
        }
      }
    }
  } finally {
    await new Promise<void>((resolve) => client.close(() => resolve()));
  }
  return registers;
}

async function tcpRegistersPerS(connections: number): Promise<number> {
  const runner = new ScenarioRunner(parseScenario({ name: "bench", seed: 3, packs: PACKS, packDefaults: { load: { kind: "constant", amps: -20 } } }));
  const server = await startModbusTcpServer({ host: "127.0.0.1", port: 0, devices: runner.packs });
  try {
    await readForever(server.port, performance.now() + 500); // warm-up
    const t0 = performance.now();
    const counts = await Promise.all(Array.from({ length: connections }, () => readForever(server.port, t0 + RUN_S * 1000)));
    return counts.reduce((a, b) => a + b, 0) / ((performance.now() - t0) / 1000);
  } finally {
    await server.close();
  }
}

export async function benchSimulator(): Promise<Record<string, number>> {
  const plain = simulatedHourMs(false);
  const withSnapshots = simulatedHourMs(true);
  const results: Record<string, number> = {
    simHour16CellsColdMs: plain.cold,
    simHour16CellsMs: plain.warm,
    simHour16CellsWithSnapshotsMs: withSnapshots.warm,
    simTcpRegistersPerS1Conn: await tcpRegistersPerS(1),
    simTcpRegistersPerS4Conn: await tcpRegistersPerS(4),
  };
  const f = (n: number | undefined, digits = 0) => (n === undefined ? "-" : n.toFixed(digits));
  process.stdout.write(
    [
      "bench: simulator (one run)",
      `  one simulated hour, 16-cell pack, 1 s steps: ${f(results.simHour16CellsMs, 1)} ms warm (median of ${MODEL_RUNS}; ${f(results.simHour16CellsWithSnapshotsMs, 1)} ms with a snapshot every step), ${f(results.simHour16CellsColdMs, 1)} ms for the first run of the process`,
      `  Modbus TCP, ${PACKS} packs, whole SunSpec image, bare modbus-serial clients: ${f(results.simTcpRegistersPerS1Conn)} registers/s on 1 connection, ${f(results.simTcpRegistersPerS4Conn)} on 4`,
      "",
    ].join("\n"),
  );
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.env.LOG_LEVEL ??= "warn";
  benchSimulator().then(
    (results) => {
      process.stdout.write(`simulator json: ${JSON.stringify(results)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`simulator bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
