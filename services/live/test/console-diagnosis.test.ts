import { join } from "node:path";
import { type RunningAgent, startEdgeAgent } from "@bms/edge-agent";
import { createLogger } from "@bms/shared";
import { EdgeAgentConfig } from "@bms/shared/config/edge-agent-config";
import { loadDeviceProfile, parseScenario, type RunningModbusTcpServer, ScenarioRunner, startModbusTcpServer } from "@bms/simulators";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, screenshot } from "../../../test/support/browser";
import { REPO_ROOT } from "../../../test/support/cli";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import { ENGINEER_TOKEN, type Harness, openCase, startHarness, TOKEN, VIEWER_TOKEN } from "./live-harness";

const VENDOR_PROFILE = join(REPO_ROOT, "simulators", "profiles", "vendor-example.yaml");

let h: Harness;
let browser: Browser;
let sim: RunningModbusTcpServer;
let agent: RunningAgent;
let agentDir: TempDir;

beforeAll(async () => {
  h = await startHarness({}, { commandRepublishMs: 500 });
  // Pack 1 overheated and cooled: its BMS logged and counted it.
  const runner = new ScenarioRunner(parseScenario({ name: "console", seed: 4, packs: 1, packDefaults: { load: { kind: "constant", amps: -20 } } }));
  runner.injectFault(1, { kind: "over-temperature", ratePerSecond: 5, maxC: 60 });
  runner.advance(10);
  runner.clearFaults(1);
  runner.advance(600);
  sim = await startModbusTcpServer({ host: "127.0.0.1", port: 0, devices: runner.packs, map: loadDeviceProfile(VENDOR_PROFILE) });
  agentDir = makeTempDir("bms-console-agent-");
  agent = await startEdgeAgent(
    EdgeAgentConfig.parse({
      siteId: "site-1",
      mqtt: { url: h.mqttUrl, reconnectPeriodMs: 200 },
      pollIntervalMs: 500,
      dataDir: agentDir.path,
      commands: { setParameter: true },
      devices: [{ packId: "pack-1", transport: { kind: "modbus-tcp", host: "127.0.0.1", port: sim.port, unitId: 1 }, profile: { file: VENDOR_PROFILE } }],
    }),
    { log: createLogger("edge-agent", "warn") },
  );
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await agent?.close();
  await sim?.close();
  agentDir?.remove();
  await h?.close();
});

describe("the console's remote-diagnosis panel", () => {
  it("reads the event log into a table and charts a capture, each with its status live; an admin changes a setting after confirming", async () => {
    const opened = await openCase(h.caseStore, "site-1", "pack-1", "over-temperature", { title: "Over temperature on pack-1" });
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    await page.goto(`${h.live.url}/?token=${encodeURIComponent(ENGINEER_TOKEN)}#/case/${opened.id}`);
    const panel = page.locator(`[data-diagnosis="${opened.id}"]`);
    await expect.poll(() => panel.count(), { timeout: 10_000 }).toBe(1);
    // An engineer has no settings form.
    expect(await panel.locator('button[data-action="set-parameter"]').count()).toBe(0);

    await panel.locator('button[data-action="read-event-log"]').click();
    const logRow = panel.locator('li:has(.diag-kind:text-is("read-event-log"))');
    await expect.poll(() => logRow.getAttribute("data-status"), { timeout: 20_000 }).toBe("succeeded");
    await expect.poll(() => logRow.locator("table.event-log tbody").textContent(), { timeout: 5000 }).toContain("OVER_TEMP_ALARM");
    expect(await logRow.textContent()).toMatch(/overTemperature [1-9]/);

    await panel.locator('input[name="hz"]').fill("5");
    await panel.locator('input[name="seconds"]').fill("2");
    await panel.locator('button[data-action="capture"]').click();
    const captureRow = panel.locator('li:has(.diag-kind:text-is("capture"))');
    await expect.poll(() => captureRow.getAttribute("data-status"), { timeout: 20_000 }).toBe("succeeded");
    await expect.poll(() => captureRow.locator('svg.capture-chart polyline[data-field="packVoltage"]').count(), { timeout: 5000 }).toBe(1);
    const points = (await captureRow.locator('polyline[data-field="packVoltage"]').getAttribute("points")) ?? "";
    expect(points.split(" ").length).toBeGreaterThanOrEqual(5);
    // The case page redraws with the capture beside the freeze frame: its charts, from the case's evidence.
    const captureId = (await captureRow.getAttribute("data-command")) ?? "";
    const captureCharts = page.locator(`.capture-frame[data-capture="${captureId}"] figure.chart-figure`);
    await expect.poll(() => captureCharts.count(), { timeout: 10_000 }).toBe(4);
    expect(await captureCharts.locator("canvas").count()).toBeGreaterThanOrEqual(4);
    expect(await page.locator(".capture-frame p.muted").textContent()).toMatch(/Capture at 5 Hz from .* \d+ samples/);
    // The case's timeline has both, in the engineer's name.
    const timeline = (await h.caseStore.get(opened.id, { details: true }))?.timeline ?? [];
    expect(timeline.filter((e) => e.kind === "command-result" && e.actor === "Ada").length).toBe(2);
    await screenshot(page, "console-diagnosis");
    expect(errors).toEqual([]);
    await page.close();

    // An admin: the settings form with the bounds, a confirmation, the value read back.
    const admin = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    admin.on("pageerror", (err) => errors.push(err.message));
    const dialogs: string[] = [];
    admin.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.accept();
    });
    await admin.goto(`${h.live.url}/?token=${encodeURIComponent(TOKEN)}#/case/${opened.id}`);
    const adminPanel = admin.locator(`[data-diagnosis="${opened.id}"]`);
    await expect.poll(() => adminPanel.locator('select[name="parameter"] option').count(), { timeout: 10_000 }).toBe(3);
    await adminPanel.locator('select[name="parameter"]').selectOption("balanceStartV");
    expect(await adminPanel.locator('input[name="value"]').getAttribute("max")).toBe("3.6");
    await adminPanel.locator('input[name="value"]').fill("3.45");
    await adminPanel.locator('button[data-action="set-parameter"]').click();
    const setRow = adminPanel.locator('li:has(.diag-kind:text-is("set-parameter"))');
    await expect.poll(() => setRow.getAttribute("data-status"), { timeout: 20_000 }).toBe("succeeded");
    expect(await setRow.textContent()).toContain("balanceStartV: 3.4 → 3.45 V");
    expect(dialogs).toEqual([expect.stringContaining("Write balanceStartV = 3.45 V")]);
    expect(errors).toEqual([]);
    await admin.close();
  });

  it("shows a viewer no panel", async () => {
    const opened = await openCase(h.caseStore, "site-1", "pack-1", "low-soh", { title: "Viewer's case" });
    const page = await browser.newPage();
    await page.goto(`${h.live.url}/?token=${encodeURIComponent(VIEWER_TOKEN)}#/case/${opened.id}`);
    await expect.poll(() => page.evaluate(() => document.body.dataset.caseLoaded), { timeout: 10_000 }).toBe(opened.id);
    expect(await page.locator(`[data-diagnosis]`).count()).toBe(0);
    await page.close();
  });

  it("works from the pack page too, without a case", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    await page.goto(`${h.live.url}/?token=${encodeURIComponent(ENGINEER_TOKEN)}#/pack/site-1/pack-1`);
    const panel = page.locator('[data-diagnosis="site-1/pack-1"]');
    await expect.poll(() => panel.count(), { timeout: 10_000 }).toBe(1);
    await panel.locator('button[data-action="read-event-log"]').click();
    const logRow = panel.locator('li:has(.diag-kind:text-is("read-event-log"))');
    await expect.poll(() => logRow.getAttribute("data-status"), { timeout: 20_000 }).toBe("succeeded");
    expect(await logRow.locator("table.event-log tbody").textContent()).toContain("OVER_TEMP_ALARM");
    const id = (await logRow.getAttribute("data-command")) ?? "";
    const record = await fetch(`${h.live.url}/api/commands/${encodeURIComponent(id)}`, { headers: { authorization: `Bearer ${ENGINEER_TOKEN}` } });
    expect(((await record.json()) as { caseId: string | null }).caseId).toBeNull();
    expect(errors).toEqual([]);
    await page.close();
  });
});
