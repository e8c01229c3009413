import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { type RunningIngestion, startIngestion } from "@bms/ingestion";
import { parseConfig, type SupportCase } from "@bms/shared";
import { IngestionConfig } from "@bms/shared/config/ingestion-config";
import { loadScenario, shippedScenarioNames } from "@bms/simulators";
import { type CaseStore, openSqliteCaseStore } from "@bms/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AedesBroker, startAedesBroker } from "../support/aedes-broker";
import { waitFor } from "../support/free-port";
import { makeTempDir, type TempDir } from "../support/temp-dir";

/**
 * The fault-replay matrix: every shipped scenario, played by the simulator on Modbus TCP and read
 * by a real edge agent (a child process on the scenario's simulated clock, see
 * fixtures/scenario-site.ts), through an aedes broker into one ingestion with the shipped rule
 * file, opens exactly the case its file expects (rule, severity, pack, in time), and nothing else.
 */
const ROOT = join(import.meta.dirname, "..", "..");
const FIXTURE = join(import.meta.dirname, "fixtures", "scenario-site.ts");

let dir: TempDir;
let broker: AedesBroker;
let ingestion: RunningIngestion;
let store: CaseStore;
const children: ChildProcess[] = [];

interface SiteRun {
  t0: number;
  output: () => string;
}

/** Runs one scenario to its end; resolves with its t0 once every sample is at the broker. */
function runSite(scenario: string): Promise<SiteRun> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", FIXTURE, JSON.stringify({ scenario, siteId: scenario, mqttUrl: broker.url, dataDir: join(dir.path, `agent-${scenario}`) })],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LOG_LEVEL: "error" } },
  );
  children.push(child);
  let output = "";
  return new Promise((resolve, reject) => {
    child.stderr?.on("data", (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
      for (const line of chunk.toString().split("\n")) {
        if (!line.startsWith("{")) continue;
        const event = JSON.parse(line) as { event: string; t0?: number; message?: string };
        if (event.event === "done" && event.t0 !== undefined) resolve({ t0: event.t0, output: () => output });
        if (event.event === "error") reject(new Error(`${scenario}: ${event.message}`));
      }
    });
    child.once("exit", (code) => reject(new Error(`${scenario}: the site process exited (${code}) before the end:\n${output}`)));
  });
}

function describeCase(c: SupportCase, t0: number): string {
  return `${c.packId} ${c.ruleId} ${c.severity} after ${(c.openedAt - t0) / 1000} s: ${c.evidence.detail}`;
}

beforeAll(async () => {
  dir = makeTempDir("bms-replay-");
  broker = await startAedesBroker();
  ingestion = await startIngestion(
    parseConfig(IngestionConfig, { mqtt: { url: broker.url, clientId: "replay-ingestion", reconnectPeriodMs: 200 }, dataDir: dir.path }, "replay"),
  );
  await waitFor(() => ingestion.health().mqttConnected, 10_000, "the ingestion to subscribe");
  store = openSqliteCaseStore(join(dir.path, "cases.db"));
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  await store?.close();
  await ingestion?.close();
  await broker?.stop();
  dir?.remove();
});

describe.concurrent("fault-replay matrix: simulator → Modbus TCP → edge agent → MQTT → ingestion", () => {
  // The longest runs first (steps; a garbled link's steps wait for retries), so the concurrent runs end together.
  const weight = (name: string) => {
    const s = loadScenario(name);
    return (s.durationS / s.intervalS) * (s.faults.some((f) => f.fault.kind === "garbled-link") ? 6 : 1);
  };
  for (const name of shippedScenarioNames().sort((a, b) => weight(b) - weight(a))) {
    const scenario = loadScenario(name);
    const expects = scenario.expects;
    it(`${name}: ${expects.ruleId === "none" ? "opens no case" : `opens one ${expects.ruleId} case (${expects.severity}) on pack ${expects.pack}`}`, {
      timeout: 900_000,
    }, async () => {
      const run = await runSite(name);
      const cases = async () => store.list({ siteId: name, limit: 100 });
      if (expects.ruleId === "none") {
        // Give the ingestion time to take the last samples, then nothing may be there.
        await new Promise((r) => setTimeout(r, 2000));
        const found = await cases();
        expect(found.map((c) => describeCase(c, run.t0))).toEqual([]);
        return;
      }
      await waitFor(async () => (await cases()).length > 0, 30_000, `a case for ${name}:\n${run.output()}`).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 1500));
      const found = await cases();
      expect(
        found.map((c) => describeCase(c, run.t0)),
        "exactly one case",
      ).toEqual([expect.stringContaining(`pack-${expects.pack} ${expects.ruleId} `)]);
      const [only] = found as [SupportCase];
      expect({ packId: only.packId, ruleId: only.ruleId, severity: only.severity }, describeCase(only, run.t0)).toEqual({
        packId: `pack-${expects.pack}`,
        ruleId: expects.ruleId,
        severity: expects.severity,
      });
      expect(only.openedAt - run.t0, describeCase(only, run.t0)).toBeLessThanOrEqual((expects.withinS ?? scenario.durationS) * 1000);
      // The evidence an engineer needs: identity and firmware from the agent's meta, the rules that fired.
      expect(only.evidence.meta?.bmsFirmware).toBeTruthy();
      expect(only.evidence.meta?.serial).toMatch(/^SIM/);
      expect(only.evidence.rulesFired.some((f) => f.ruleId === expects.ruleId && f.role === "case")).toBe(true);
      expect(only.warranty?.coverage).toBe("in-warranty");
    });
  }
});
