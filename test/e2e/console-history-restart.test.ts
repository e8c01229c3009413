import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, overflowsSideways, screenshot } from "../support/browser";
import { type RunningScript, runScript } from "../support/cli";
import { waitFor } from "../support/free-port";
import { makeTempDir, type TempDir } from "../support/temp-dir";
import { startVictoriaMetrics, type VictoriaMetricsServer } from "../support/victoria-metrics";

/**
 * The pack page's charts come from the time-series server, not from the live service's memory:
 * `npm start` (as shipped, from the build) writes a simulated site to VictoriaMetrics, is stopped
 * and started again, and the page opened right after the restart shows the samples of before it.
 */
const TOKEN = "token-for-the-history-restart-test";
const SITE = "demo-site";
const PACK = "pack-1";

let vm: VictoriaMetricsServer;
let browser: Browser;
let dir: TempDir;
let stack: RunningScript | undefined;

function startStack(): RunningScript {
  stack = runScript("services/stack/dist/main.js", [], {
    via: "built",
    env: {
      ...process.env,
      LOG_LEVEL: "warn",
      DATA_DIR: dir.path,
      HTTP_PORT: "0",
      MQTT_PORT: "0",
      SIM_MODBUS_PORT: "0",
      SIM_PACKS: "1",
      ENGINEER_TOKEN: TOKEN,
      INFLUX_URL: vm.url,
      INFLUX_ORG: "bms",
      INFLUX_BUCKET: "bms",
    },
  });
  return stack;
}

async function consoleOrigin(running: RunningScript): Promise<string> {
  await waitFor(() => /console:\s+http/.test(running.output()), 60_000, `the console URL in:\n${running.output()}`);
  return new URL(/console:\s+(\S+)/.exec(running.output())![1]!).origin;
}

async function stopStack(running: RunningScript): Promise<void> {
  running.child.kill("SIGINT");
  expect(await running.exited).toBe(0);
}

const stored = async () => (await vm.exportSeries(`pack_soc{site="${SITE}",pack="${PACK}"}`)).flatMap((s) => s.timestamps);

beforeAll(async () => {
  dir = makeTempDir("bms-history-restart-");
  [vm, browser] = await Promise.all([startVictoriaMetrics(), launchChromium()]);
}, 60_000);
afterAll(async () => {
  if (stack && stack.child.exitCode === null) {
    stack.child.kill("SIGKILL");
    await stack.exited;
  }
  await browser?.close();
  await vm?.stop();
  dir?.remove();
});

describe("the pack page across a restart of the stack", () => {
  it("shows the history written before the restart, from VictoriaMetrics", async () => {
    const first = startStack();
    await consoleOrigin(first);
    await waitFor(async () => (await stored()).length >= 20, 60_000, "20 samples of the simulated pack in VictoriaMetrics");
    await stopStack(first);
    const before = await stored();
    const stoppedAt = Math.max(...before);

    const second = startStack();
    const origin = await consoleOrigin(second);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    await page.goto(`${origin}/?token=${TOKEN}#/pack/${SITE}/${PACK}`);
    await page.locator('[data-range="15m"]').click();
    const charts = page.locator(".charts");
    await expect.poll(() => charts.getAttribute("data-source"), { timeout: 20_000 }).toBe("victoriametrics");
    const soc = page.locator('figure[data-chart="State of charge"]');
    // The live service restarted with an empty buffer: the points of before the restart are the server's.
    await expect.poll(async () => Number(await soc.getAttribute("data-points")), { timeout: 20_000 }).toBeGreaterThanOrEqual(before.length);
    const firstPoint = await page.evaluate(
      async ([site, pack]) => {
        const token = localStorage.getItem("bms-engineer-token") ?? "";
        const res = await fetch(`/api/packs/${site}/${pack}/history?from=${Date.now() - 15 * 60_000}`, { headers: { authorization: `Bearer ${token}` } });
        const body = (await res.json()) as { points: { ts: number }[] };
        return body.points[0]?.ts ?? null;
      },
      [SITE, PACK] as const,
    );
    expect(firstPoint).not.toBeNull();
    expect(firstPoint!).toBeLessThan(stoppedAt);
    expect(await overflowsSideways(page)).toBe(false);
    await screenshot(page, "pack-after-restart");
    expect(errors).toEqual([]);
    await page.close();
    await stopStack(second);
  }, 180_000);
});
