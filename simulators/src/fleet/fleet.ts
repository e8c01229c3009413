import { createLogger, parseConfig } from "@bms/shared";
import { z } from "zod";
import type { ResolvedFault } from "../faults";
import { type RunningModbusTcpServer, startModbusTcpServer } from "../protocols/modbus-tcp-server";
import { driveInRealTime, type RealTimeDriver } from "../scenario/real-time-driver";
import { type ExpectedCase, loadScenario, parseScenario, type Scenario, shippedScenarioNames } from "../scenario/scenario-file";
import { ScenarioRunner } from "../scenario/scenario-runner";
import { deriveSeed, SeededRandom } from "../seeded-random";

/** N sites × M packs for demos and benchmarks, a seeded fraction of the packs carrying a fault. */
export const FleetOptionsSchema = z
  .object({
    /** Sites; site i is `site-<i>` (from 1) on its own Modbus TCP port. */
    sites: z.number().int().min(1).max(1000),
    /** Packs per site, unit IDs 1..packsPerSite. */
    packsPerSite: z.number().int().min(1).max(247),
    /** Share of all packs that carry a fault (rounded to whole packs). @default 0.2 */
    faultyFraction: z.number().min(0).max(1).default(0.2),
    /** Which packs, which fault and when all follow from it. @default 1 */
    seed: z.number().int().min(0).max(0xffffffff).default(1),
    /** Faults start between 10 % and 60 % of this, simulated seconds. @default 600 */
    durationS: z.number().positive().max(1e8).default(600),
    /** Cells per pack. @default 16 */
    cellsPerPack: z.number().int().min(1).max(64).default(16),
  })
  .strict();
export type FleetOptions = z.input<typeof FleetOptionsSchema>;

/** A fault a fleet pack may get: one shipped scenario's fault and the case it should cause. */
interface FaultTemplate {
  scenario: string;
  fault: ResolvedFault;
  expects: ExpectedCase;
}

export interface FleetPackEntry {
  unitId: number;
  /** Absent for a healthy pack. */
  fault?: { scenario: string; kind: ResolvedFault["kind"]; atS: number; fault: ResolvedFault; expects: { ruleId: string; severity?: string } };
}

export interface FleetManifest {
  seed: number;
  sites: { siteId: string; port?: number; packs: FleetPackEntry[] }[];
  totalPacks: number;
  faultyPacks: number;
}

export interface Fleet {
  manifest: FleetManifest;
  sites: { siteId: string; scenario: Scenario; runner: ScenarioRunner }[];
}

let templates: FaultTemplate[] | undefined;
/** The fault of every shipped scenario but `healthy` (its first timeline entry). */
function faultTemplates(): FaultTemplate[] {
  templates ??= shippedScenarioNames().flatMap((name) => {
    const scenario = loadScenario(name);
    const entry = scenario.faults[0];
    return entry ? [{ scenario: name, fault: entry.fault, expects: scenario.expects }] : [];
  });
  return templates;
}

/** Builds the fleet: same options → same packs, same faults at the same times, same manifest. */
export function buildFleet(options: FleetOptions): Fleet {
  const opts = parseConfig(FleetOptionsSchema, options, "fleet options");
  const total = opts.sites * opts.packsPerSite;
  const faulty = Math.round(total * opts.faultyFraction);
  const random = new SeededRandom(deriveSeed(opts.seed, 0xf1ee7));
  // Seeded Fisher-Yates: the first `faulty` indices carry a fault.
  const order = Array.from({ length: total }, (_, i) => i);
  for (let i = total - 1; i > 0; i--) {
    const j = Math.floor(random.next() * (i + 1));
    [order[i], order[j]] = [order[j] ?? 0, order[i] ?? 0];
  }
  const pool = faultTemplates();
  const chosen = new Map<number, FleetPackEntry["fault"]>();
  for (const index of order.slice(0, faulty)) {
    const template = pool[Math.floor(random.next() * pool.length)];
    if (!template) break;
    const atS = Math.round(random.between(0.1, 0.6) * opts.durationS);
    chosen.set(index, {
      scenario: template.scenario,
      kind: template.fault.kind,
      atS,
      fault: template.fault,
      expects: { ruleId: template.expects.ruleId, ...(template.expects.severity ? { severity: template.expects.severity } : {}) },
    });
  }

  const sites: Fleet["sites"] = [];
  const manifestSites: FleetManifest["sites"] = [];
  for (let s = 0; s < opts.sites; s++) {
    const siteId = `site-${s + 1}`;
    const packs: FleetPackEntry[] = [];
    const faults: { atS: number; pack: number; fault: ResolvedFault }[] = [];
    for (let p = 0; p < opts.packsPerSite; p++) {
      const unitId = p + 1;
      const fault = chosen.get(s * opts.packsPerSite + p);
      packs.push(fault ? { unitId, fault } : { unitId });
      if (fault) faults.push({ atS: fault.atS, pack: unitId, fault: fault.fault });
    }
    const scenario = parseScenario(
      {
        name: siteId,
        seed: deriveSeed(opts.seed, s + 1),
        packs: opts.packsPerSite,
        packDefaults: { cellCount: opts.cellsPerPack },
        faults,
        durationS: opts.durationS,
      },
      siteId,
    );
    sites.push({ siteId, scenario, runner: new ScenarioRunner(scenario) });
    manifestSites.push({ siteId, packs });
  }
  return { manifest: { seed: opts.seed, sites: manifestSites, totalPacks: total, faultyPacks: chosen.size }, sites };
}

export interface ServeFleetOptions {
  /** @default "0.0.0.0" */
  host?: string;
  /** Site i (from 0) listens on basePort + i; 0 picks a free port per site. @default 5020 */
  basePort?: number;
  /** Simulated seconds per real second. @default 1 */
  timeScale?: number;
}

export interface RunningFleet {
  /** The manifest with each site's port filled in. */
  manifest: FleetManifest;
  fleet: Fleet;
  close(): Promise<void>;
}

/** Serves every site on its own Modbus TCP port (SunSpec, unit IDs 1..M) and runs them in real time. */
export async function serveFleet(fleet: Fleet, options: ServeFleetOptions = {}): Promise<RunningFleet> {
  const log = createLogger("simulator-fleet");
  const servers: RunningModbusTcpServer[] = [];
  const drivers: RealTimeDriver[] = [];
  const close = async () => {
    for (const driver of drivers) driver.stop();
    await Promise.all(servers.map((server) => server.close()));
  };
  const basePort = options.basePort ?? 5020;
  try {
    for (const [i, site] of fleet.sites.entries()) {
      const host = options.host ?? "0.0.0.0";
      const port = basePort === 0 ? 0 : basePort + i;
      servers.push(await startModbusTcpServer({ host, port, devices: site.runner.packs, portSetting: "--port (site ports are --port + site index)" }));
      drivers.push(
        driveInRealTime(site.runner, {
          timeScale: options.timeScale ?? 1,
          onError: (err) => log.error({ err, siteId: site.siteId }, "simulation step failed"),
        }),
      );
    }
  } catch (err) {
    await close();
    throw err;
  }
  const manifest: FleetManifest = { ...fleet.manifest, sites: fleet.manifest.sites.map((site, i) => ({ ...site, port: servers[i]?.port ?? 0 })) };
  log.info({ sites: fleet.sites.length, totalPacks: manifest.totalPacks, faultyPacks: manifest.faultyPacks }, "fleet listening");
  return { manifest, fleet, close };
}
