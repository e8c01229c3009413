import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { buildBundles } from "../support/cli";
import { benchAgent } from "./agent-bench";
import { benchCases } from "./case-bench";
import { benchCommands, formatCommandBench } from "./command-bench";
import { benchConsole, formatConsoleBench } from "./console-bench";
import { benchIngestion, formatIngestionBench } from "./ingestion-bench";
import { benchLayout, formatLayoutBench } from "./layout-bench";
import { benchLive, formatLiveBench } from "./live-bench";
import { benchScaleOut, formatScaleOutBench } from "./scale-out-bench";
import { benchSimulator } from "./simulator-bench";

/**
 * `npm run bench`: every figure printed beside a baseline measured in the same run.
 * BENCH_SAMPLES (default 20000) sets the ingestion's burst; BENCH_ONLY (comma-separated part
 * names: ingestion, layout, agent, simulator, cases, commands, scale-out, live, console) runs some parts only;
 * BENCH_ROUNDS (default 5) sets the ingestion's rounds (baseline and ingestion alternating; medians printed);
 * BENCH_WARMUP (default 10000) the samples each of them takes before its measured burst;
 * BENCH_CPU_PROF=dir has the ingestion process write a CPU profile there.
 *
 * A whole run measures each part in a process of its own, the latency figures first: measured in
 * one process after the ingestion's bursts, the fault → case p99 was 0.8–1.4 s (the bench's load
 * generator held the bursts' garbage), and in a fresh process right after them 171 ms on the broker
 * on disk against 74–84 ms on a machine at rest (the disk still busy with the bursts' writes).
 */
const BURST = Number(process.env.BENCH_SAMPLES ?? 20_000);
/** The parts in the order a whole run takes them: latency first, then throughput and the heavy multi-server ones. */
const PARTS = ["cases", "commands", "live", "console", "ingestion", "layout", "agent", "simulator", "scale-out"] as const;
const only = new Set((process.env.BENCH_ONLY ?? "").split(",").filter(Boolean));
const wanted = (part: string) => only.has(part);
const f = (n: number | undefined, digits = 0) => (n === undefined ? "-" : n.toFixed(digits));

/** A whole run: each part in a fresh process of this script (BENCH_ONLY=part). */
function wholeRun(): void {
  for (const part of PARTS) {
    const run = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      env: { ...process.env, BENCH_ONLY: part, BENCH_BUILT: "1" },
      stdio: "inherit",
    });
    if (run.status !== 0) throw new Error(`bench part ${part} failed (exit ${run.status ?? run.signal})`);
  }
}

async function main(): Promise<void> {
  process.env.LOG_LEVEL ??= "warn";
  // The services are measured as shipped: the bundles of `npm run build`.
  if (process.env.BENCH_BUILT !== "1") buildBundles();
  if (only.size === 0) {
    wholeRun();
    return;
  }
  if (wanted("ingestion")) {
    // The ingestion's own capacity (the broker keeps nothing on disk), then the broker as shipped.
    process.stdout.write(formatIngestionBench(await benchIngestion("memory", BURST)));
    process.stdout.write(formatIngestionBench(await benchIngestion("disk", BURST)));
  }
  if (wanted("layout")) process.stdout.write(formatLayoutBench(await benchLayout()));
  // The edge agent and the simulator print their own lines.
  if (wanted("agent")) process.stdout.write(`agent json: ${JSON.stringify(await benchAgent())}\n`);
  if (wanted("simulator")) process.stdout.write(`simulator json: ${JSON.stringify(await benchSimulator())}\n`);
  if (wanted("cases")) {
    // Triggering sample → case stored and announced on socket.io, with 1000 packs streaming: the
    // services as docker-compose runs them (a process each) on the broker as shipped (disk) and on
    // one keeping nothing on disk; then as `npm start` runs them (one process).
    const runs = [
      ["processes", "disk"],
      ["processes", "memory"],
      ["one-process", "disk"],
    ] as const;
    for (const [topology, persistence] of runs) {
      const c = await benchCases(persistence, topology);
      process.stdout.write(
        `  fault → case on socket.io, ${topology === "processes" ? "a process per service" : "one process (npm start)"}, broker persistence ${persistence.padEnd(6)} p50 ${f(c.caseLatencyP50Ms, 1)} ms, p99 ${f(c.caseLatencyP99Ms, 1)} ms, max ${f(c.caseLatencyMaxMs, 1)} ms  (${f(c.caseOpenedAnnounced)} of ${f(c.caseFaults)} cases, ${f(c.casePacks)} packs streaming ${f(c.caseStreamedSamplesPerS)} samples/s, all rules)\njson-cases-${topology}-${persistence}: ${JSON.stringify(c)}\n`,
      );
    }
  }

  // Remote commands: post → result on socket.io through the broker, the agent and a simulated BMS.
  if (wanted("commands")) process.stdout.write(formatCommandBench(await benchCommands()));
  // Partitioned ingestion on RabbitMQ: 1 and 2 workers against the bare consumer, failover.
  if (wanted("scale-out")) process.stdout.write(formatScaleOutBench(await benchScaleOut()));
  // The live service in its own process: latency and memory with 1000 and 10000 packs, the subscribe flood.
  if (wanted("live")) process.stdout.write(formatLiveBench(await benchLive()));
  // The console's first screen in Chromium with 1000 and 10000 packs (test/bench/console-bench.ts).
  if (wanted("console")) process.stdout.write(formatConsoleBench(await benchConsole()));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    // modbus-serial rejects with plain objects: print what they hold.
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : JSON.stringify(err)}\n`);
    process.exit(1);
  },
);
