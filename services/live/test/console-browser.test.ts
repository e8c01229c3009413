import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseScenario } from "@bms/simulators";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireBinary } from "../../../test/support/binaries";
import { feedScenario, startFastEngine } from "../../ingestion/test/fixtures/scenario-feed";
import { closeCase, type Harness, meta, openCase, SITE1_TOKEN, sample, startHarness, TOKEN } from "./live-harness";

const SCREENSHOT = join(process.cwd(), ".tmp", "console.png");

let h: Harness;
let browser: Browser;

beforeAll(async () => {
  const executablePath = requireBinary("chromium", "chromium");
  h = await startHarness();
  browser = await chromium.launch({
    executablePath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describe("engineer console", () => {
  it("shows a pack's live SOC, highlights out-of-range values and lists an open case with its evidence", async () => {
    await h.publish("bms/site-1/pack-1/meta", meta({ serial: "SN-4711" }));
    await h.publish("bms/site-1/pack-1/telemetry", sample({ seq: 1, soc: 55 }));
    await h.publish("bms/site-1/pack-2/telemetry", sample({ seq: 1, soc: 8, cellTemperatures: [25, 58], bmsAlarms: ["OVER_TEMP_ALARM"] }));
    // A hostile title must show as text, never as markup.
    const opened = await openCase(h.caseStore, "site-1", "pack-1");
    await openCase(h.caseStore, "site-1", "pack-2", "over-temperature", {
      severity: "critical",
      title: '<img src=x onerror="window.__xss=1">Over temperature',
      evidence: { sample: null, value: 58, threshold: 55, index: 1, detail: "sensor 2 at 58 °C", meta: null, bmsAlarms: [], rulesFired: [] },
    });

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    await page.goto(`${h.live.url}/?token=${encodeURIComponent(TOKEN)}`);

    const soc = page.locator('tr[data-pack="site-1/pack-1"] td[data-field="soc"]');
    await expect.poll(() => soc.textContent(), { timeout: 10_000 }).toBe("55.0");
    // The token left the address bar.
    expect(page.url()).not.toContain("token=");

    // A live sample published over MQTT updates the page without a reload.
    await h.publish("bms/site-1/pack-1/telemetry", sample({ seq: 2, soc: 56.5 }));
    await expect.poll(() => soc.textContent(), { timeout: 10_000 }).toBe("56.5");

    // Out-of-range values are highlighted.
    await expect
      .poll(() => page.locator('tr[data-pack="site-1/pack-2"] td[data-field="max-temp"]').getAttribute("class"), { timeout: 10_000 })
      .toContain("alarm");
    expect(await page.locator('tr[data-pack="site-1/pack-2"] td[data-field="soc"]').getAttribute("class")).toContain("warn");
    expect(await page.locator('tr[data-pack="site-1/pack-2"] .alarm-tag').textContent()).toBe("OVER_TEMP_ALARM");

    // Open cases, expandable to their evidence.
    const caseRow = page.locator(`tr[data-case-id="${opened.id}"]`);
    await expect.poll(() => caseRow.count(), { timeout: 10_000 }).toBe(1);
    expect(await caseRow.textContent()).toContain("Cell over-voltage on pack-1");
    await caseRow.click();
    await expect.poll(() => page.locator("tr.evidence").first().textContent(), { timeout: 5000 }).toContain("cell 5 reached 3.71 V");
    const evidence = (await page.locator("tr.evidence").first().textContent()) ?? "";
    expect(evidence).toContain("SN-0001");
    expect(evidence).toContain("in-warranty · repair looks free");
    expect(evidence).toContain("OVER_VOLT_ALARM");

    // The lifecycle buttons move the case: acknowledged, then the next steps are offered.
    await caseRow.locator('button[data-status="acknowledged"]').click();
    await expect.poll(async () => (await h.caseStore.get(opened.id))?.status, { timeout: 10_000 }).toBe("acknowledged");
    await expect.poll(() => caseRow.locator("button").allTextContents(), { timeout: 10_000 }).toEqual(["Diagnose remotely", "Resolved"]);
    expect(await caseRow.textContent()).toContain("acknowledged");
    expect(await page.locator("#cases").textContent()).toContain('<img src=x onerror="window.__xss=1">Over temperature');
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();

    mkdirSync(join(process.cwd(), ".tmp"), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // A case closed elsewhere (event on MQTT) disappears from the open list.
    const closed = await closeCase(h.caseStore, opened.id);
    await h.publish(`cases/site-1/pack-1`, { type: "closed", case: closed });
    await expect.poll(() => caseRow.count(), { timeout: 10_000 }).toBe(0);

    expect(errors).toEqual([]);
    await page.close();
  });

  it("opens a pack's health under its row: SOH or why there is none, throughput, stress and the warranty window", async () => {
    // Three hours of a simulated pack through the ingestion's rule engine, on the live service's case store.
    const t0 = Date.now() - 3 * 3_600_000;
    const fast = await startFastEngine(h.dataDir, { now: t0 });
    const scenario = parseScenario({ name: "site-4", seed: 4, packs: 1, packDefaults: { capacityAh: 50 }, durationS: 3 * 3600, intervalS: 30 });
    await feedScenario(fast.engine, scenario, { siteId: "site-4", t0 });
    await fast.close();
    await h.publish("bms/site-4/pack-1/telemetry", sample({ seq: 1, soc: 61 }));
    await h.publish("bms/site-4/pack-2/telemetry", sample({ seq: 1, soc: 62 }));
    const health = await (await fetch(`${h.live.url}/api/packs/site-4/pack-1/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    await page.goto(`${h.live.url}/?token=${encodeURIComponent(TOKEN)}`);
    const row = page.locator('tr[data-pack="site-4/pack-1"]');
    await expect.poll(() => row.locator('td[data-field="soc"]').textContent(), { timeout: 10_000 }).toBe("61.0");
    await row.click();
    const panel = page.locator('tr[data-health-of="site-4/pack-1"]');
    await expect.poll(() => panel.textContent(), { timeout: 10_000 }).toContain("equivalent full cycles");
    const text = (await panel.textContent()) ?? "";
    expect(text).toContain("no estimate: not enough data");
    expect(text).toContain(`${health.throughputAh.toFixed(1)} Ah · ${health.equivalentFullCycles.toFixed(2)} equivalent full cycles`);
    expect(text).toMatch(/Most hours \(SOC × temperature\)soc \d+-\d+ \| [^:]+ °C: \d+\.\d h/);
    expect(text).toContain(`% of ${health.operatingHours.toFixed(1)} h outside`);
    expect(await row.getAttribute("aria-expanded")).toBe("true");

    // A live sample redraws the table; the panel stays open under its pack.
    await h.publish("bms/site-4/pack-1/telemetry", sample({ seq: 2, soc: 63 }));
    await expect.poll(() => row.locator('td[data-field="soc"]').textContent(), { timeout: 10_000 }).toBe("63.0");
    expect(await panel.count()).toBe(1);

    // A pack the ingestion has not counted yet says so; a second click closes a panel.
    await page.locator('tr[data-pack="site-4/pack-2"]').click();
    await expect.poll(() => page.locator('tr[data-health-of="site-4/pack-2"]').textContent(), { timeout: 10_000 }).toContain("No health figures");
    await row.click();
    await expect.poll(() => panel.count(), { timeout: 5000 }).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("downloads the month's follow-up report as PDF and HTML, with the token's sites only", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    await page.goto(`${h.live.url}/?token=${encodeURIComponent(TOKEN)}`);
    await expect.poll(() => page.locator("#reports-section").isVisible(), { timeout: 10_000 }).toBe(true);
    const now = new Date();
    const lastMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)).toISOString().slice(0, 7);
    expect(await page.inputValue("#report-month")).toBe(lastMonth);
    const download = async (format: string) => {
      const [file] = await Promise.all([page.waitForEvent("download"), page.click(`#report-form button[data-format="${format}"]`)]);
      return { name: file.suggestedFilename(), body: readFileSync(await file.path()) };
    };
    const pdf = await download("pdf");
    expect(pdf.name).toBe(`follow-up-${lastMonth}.pdf`);
    expect(pdf.body.subarray(0, 5).toString()).toBe("%PDF-");
    const thisMonth = now.toISOString().slice(0, 7);
    await page.fill("#report-month", thisMonth);
    const html = await download("html");
    expect(html.name).toBe(`follow-up-${thisMonth}.html`);
    // Without customers, a token of every site gets one part of every site the store knows (site-4: the health test's).
    expect(html.body.toString()).toContain(`Monthly follow-up ${thisMonth}: All sites`);
    expect(html.body.toString()).toContain("Site site-4");
    expect(errors).toEqual([]);
    await page.close();

    const scoped = await browser.newPage();
    await scoped.goto(`${h.live.url}/?token=${encodeURIComponent(SITE1_TOKEN)}`);
    await expect.poll(() => scoped.locator("#reports-section").isVisible(), { timeout: 10_000 }).toBe(true);
    await scoped.fill("#report-month", thisMonth);
    const [file] = await Promise.all([scoped.waitForEvent("download"), scoped.click('#report-form button[data-format="html"]')]);
    expect(readFileSync(await file.path(), "utf8")).not.toContain("site-4");
    await scoped.close();
  });

  it("highlights with the limits of the rules the ingestion runs, per chemistry (from GET /api/meta)", async () => {
    // 4.22 V is past the NMC major level of the rules (4.2 V) and past no LFP limit the console had copied (4.25 V).
    await h.publish("bms/site-3/nmc-1/meta", meta({ chemistry: "NMC", serial: "SN-NMC" }));
    await h.publish("bms/site-3/nmc-1/telemetry", sample({ seq: 1, cellVoltages: [4.1, 4.22], cellTemperatures: [25, 57] }));
    // LFP at 3.6 V: past the warning level (3.55 V), short of the major one (3.65 V).
    await h.publish("bms/site-3/lfp-1/meta", meta({ chemistry: "LFP", serial: "SN-LFP" }));
    await h.publish("bms/site-3/lfp-1/telemetry", sample({ seq: 1, cellVoltages: [3.3, 3.6], cellTemperatures: [25, 57] }));
    const page = await browser.newPage();
    await page.goto(`${h.live.url}/?token=${encodeURIComponent(TOKEN)}`);
    const cell = (pack: string, field: string) => page.locator(`tr[data-pack="site-3/${pack}"] td[data-field="${field}"]`);
    await expect.poll(() => cell("nmc-1", "max-cell").textContent(), { timeout: 10_000 }).toBe("4.220");
    await expect.poll(() => cell("nmc-1", "max-cell").getAttribute("class"), { timeout: 10_000 }).toContain("alarm");
    await expect.poll(() => cell("lfp-1", "max-cell").getAttribute("class"), { timeout: 10_000 }).toContain("warn");
    // 57 °C: major for NMC (55 °C), critical for LFP (55 °C): both alarms; nothing low.
    expect(await cell("nmc-1", "max-temp").getAttribute("class")).toContain("alarm");
    expect(await cell("lfp-1", "min-cell").getAttribute("class")).not.toMatch(/warn|alarm/);
    await page.close();
  });

  it("shows a site-scoped token its own sites only", async () => {
    await h.publish("bms/site-1/pack-9/telemetry", sample({ seq: 1, soc: 42 }));
    await h.publish("bms/site-2/pack-9/telemetry", sample({ seq: 1, soc: 43 }));
    const mine = await openCase(h.caseStore, "site-1", "pack-9", "low-soh", { title: "Mine to see" });
    const theirs = await openCase(h.caseStore, "site-2", "pack-9", "low-soh", { title: "Not mine to see" });
    const page = await browser.newPage();
    await page.goto(`${h.live.url}/?token=${encodeURIComponent(SITE1_TOKEN)}`);
    await expect.poll(() => page.locator('tr[data-pack="site-1/pack-9"] td[data-field="soc"]').textContent(), { timeout: 10_000 }).toBe("42.0");
    await expect.poll(() => page.locator(`tr[data-case-id="${mine.id}"]`).count(), { timeout: 10_000 }).toBe(1);
    expect(await page.locator("#who").textContent()).toContain("Sam");
    // A live sample of the other site, then one of its own: only its own shows.
    await h.publish("bms/site-2/pack-9/telemetry", sample({ seq: 2, soc: 44 }));
    await h.publish("bms/site-1/pack-9/telemetry", sample({ seq: 2, soc: 45 }));
    await expect.poll(() => page.locator('tr[data-pack="site-1/pack-9"] td[data-field="soc"]').textContent(), { timeout: 10_000 }).toBe("45.0");
    const packRows = await page.locator("#packs tbody tr").evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.pack));
    expect(packRows.every((key) => key?.startsWith("site-1/"))).toBe(true);
    expect(await page.locator(`tr[data-case-id="${theirs.id}"]`).count()).toBe(0);
    expect(await page.locator("#cases").textContent()).not.toContain("Not mine to see");
    await page.close();
  });

  it("asks for the token when none is stored, and refuses a wrong one", async () => {
    const page = await browser.newPage();
    await page.goto(`${h.live.url}/`);
    await expect.poll(() => page.locator("#login").isVisible(), { timeout: 5000 }).toBe(true);
    await page.fill("#token-input", "this-is-not-the-right-token");
    await page.click('#login-form button[type="submit"]');
    await expect.poll(() => page.locator("#login-error").textContent(), { timeout: 10_000 }).toContain("not accepted");
    await page.fill("#token-input", TOKEN);
    await page.click('#login-form button[type="submit"]');
    await expect.poll(() => page.locator("#packs-section").isVisible(), { timeout: 10_000 }).toBe(true);
    await page.close();
  });
});
