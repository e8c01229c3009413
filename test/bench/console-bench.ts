import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { startLive } from "@bms/live";
import { type PackMeta, type PackSample, topics } from "@bms/shared";
import { LiveConfig } from "@bms/shared/config/live-config";
import { connectAsync } from "mqtt";
import { startAedesBroker } from "../support/aedes-broker";
import { launchChromium } from "../support/browser";
import { waitFor } from "../support/free-port";
import { makeTempDir } from "../support/temp-dir";
import { percentile } from "./burst";

const TOKEN = "bench-console-engineer-token-0123";
const RUNS = 5;

export interface ConsoleFleetFigures {
  packs: number;
  sites: number;
  /** Navigation start → the first page of the triage table drawn (the console's `fleet-rendered` mark), median of RUNS loads. */
  firstScreenMs: number;
  firstScreenMaxMs: number;
  /** GET /api/fleet (first page, by urgency), server and network only, median of 21. */
  apiFleetMs: number;
  /** GET /api/fleet?q=<serial> (a search over every pack), median of 21. */
  apiSearchMs: number;
  /** The baseline in the same run: the console's login page (the same files, no fleet), median of RUNS loads. */
  emptyPageMs: number;
}

function sample(i: number, now: number): PackSample {
  return {
    v: 1,
    ts: now,
    seq: 1,
    packVoltage: 51.2 + (i % 7) / 10,
    current: (i % 11) - 5,
    soc: 20 + (i % 80),
    soh: 90 + (i % 10),
    cycleCount: 100 + i,
    cellVoltages: Array.from({ length: 16 }, (_, c) => 3.28 + ((i + c) % 5) / 1000),
    cellTemperatures: [24 + (i % 30), 25, 26, 25],
    bmsAlarms: i % 50 === 0 ? ["OVER_TEMP_WARNING"] : [],
  };
}

function meta(i: number, now: number): PackMeta {
  return {
    v: 1,
    ts: now,
    manufacturer: "Acme",
    model: "LFP-48-100",
    serial: `SN-${String(i).padStart(6, "0")}`,
    bmsFirmware: "1.2.3",
    chemistry: "LFP",
    cellCount: 16,
    ratedCapacity: 100,
    warrantyStart: "2024-01-01",
    warrantyEnd: "2034-01-01",
  };
}

const median = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );

async function timeFetch(url: string, count: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** One fleet of `packs` packs (100 a site) in a live service, the console opened RUNS times in Chromium. */
async function fleetRun(packs: number): Promise<ConsoleFleetFigures> {
  const broker = await startAedesBroker();
  const dir = makeTempDir("bms-console-bench-");
  const live = await startLive(
    LiveConfig.parse({ http: { host: "127.0.0.1", port: 0 }, mqtt: { url: broker.url }, dataDir: dir.path, engineerTokens: [TOKEN], maxPacks: packs + 100 }),
  );
  const mqtt = await connectAsync(broker.url, { reconnectPeriod: 0 });
  const browser = await launchChromium();
  try {
    await waitFor(async () => (await fetch(`${live.url}/healthz`)).ok, 10_000, "the live service to subscribe");
    const now = Date.now();
    const sites = Math.ceil(packs / 100);
    for (let i = 0; i < packs; i++) {
      const siteId = `site-${Math.floor(i / 100) + 1}`;
      const packId = `pack-${(i % 100) + 1}`;
      await mqtt.publishAsync(topics.meta(siteId, packId), JSON.stringify(meta(i, now)), { qos: 0 });
      await mqtt.publishAsync(topics.telemetry(siteId, packId), JSON.stringify(sample(i, now)), { qos: 0 });
    }
    await waitFor(
      async () => {
        const res = await fetch(`${live.url}/api/fleet?limit=1`, { headers: { authorization: `Bearer ${TOKEN}` } });
        return ((await res.json()) as { total: number }).total === packs;
      },
      60_000,
      `the live service to hold ${packs} packs`,
    );
    // A fresh browser context a load (no cache, no stored token); functions, not strings: the console's CSP forbids eval.
    const load = async (path: string, ready: (packs: string) => boolean): Promise<number> => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      try {
        await page.goto(`${live.url}/${path}`);
        await page.waitForFunction(ready, String(packs), { timeout: 30_000 });
        return await page.evaluate(() => {
          const mark = performance.getEntriesByName("fleet-rendered")[0];
          return mark ? mark.startTime : performance.now();
        });
      } finally {
        await page.close();
      }
    };
    const screens: number[] = [];
    const empty: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      screens.push(await load(`?token=${TOKEN}`, (n) => document.body.dataset.fleetRendered === n));
      empty.push(await load("", () => document.getElementById("login")?.hidden === false));
    }
    return {
      packs,
      sites,
      firstScreenMs: median(screens),
      firstScreenMaxMs: Math.max(...screens),
      apiFleetMs: await timeFetch(`${live.url}/api/fleet`, 21),
      apiSearchMs: await timeFetch(`${live.url}/api/fleet?q=SN-000${Math.floor(packs / 2)}`, 21),
      emptyPageMs: median(empty),
    };
  } finally {
    await browser.close();
    await mqtt.endAsync();
    await live.close();
    await broker.stop();
    dir.remove();
  }
}

/** The console's first screen (fleet triage) at 1 000 and 10 000 packs, in Debian's Chromium. */
export async function benchConsole(fleets: readonly number[] = [1000, 10_000]): Promise<ConsoleFleetFigures[]> {
  const out: ConsoleFleetFigures[] = [];
  for (const packs of fleets) out.push(await fleetRun(packs));
  return out;
}

export function formatConsoleBench(figures: readonly ConsoleFleetFigures[]): string {
  const lines = figures.map(
    (f) =>
      `  console triage, ${f.packs} packs on ${f.sites} sites  first screen drawn ${f.firstScreenMs.toFixed(0)} ms (max ${f.firstScreenMaxMs.toFixed(0)} of ${RUNS}; the login page alone ${f.emptyPageMs.toFixed(0)} ms); GET /api/fleet ${f.apiFleetMs.toFixed(1)} ms, a serial search ${f.apiSearchMs.toFixed(1)} ms`,
  );
  return `${lines.join("\n")}\njson-console: ${JSON.stringify(figures)}\n`;
}

// `npx tsx test/bench/console-bench.ts [packs...]`: this part of `npm run bench` on its own.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.env.LOG_LEVEL ??= "warn";
  const fleets = process.argv.slice(2).map(Number);
  process.stdout.write(formatConsoleBench(await benchConsole(fleets.length > 0 ? fleets : undefined)));
}
