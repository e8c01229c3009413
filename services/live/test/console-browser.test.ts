import { readFileSync } from "node:fs";
import type { PackSample, SupportCase } from "@bms/shared";
import { parseScenario } from "@bms/simulators";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, overflowsSideways, screenshot } from "../../../test/support/browser";
import { feedScenario, startFastEngine } from "../../ingestion/test/fixtures/scenario-feed";
import { closeCase, type Harness, meta, openCase, SITE1_TOKEN, sample, startHarness, TOKEN, VIEWER_TOKEN } from "./live-harness";

let h: Harness;
let browser: Browser;

beforeAll(async () => {
  [h, browser] = await Promise.all([startHarness({ grafanaUrl: "https://grafana.example.com:3000/" }), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

/** A page signed in with `token`, failing the test on any script error. */
async function open(path: string, token = TOKEN, viewport = { width: 1280, height: 900 }): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(err.message));
  page.on("console", (msg) => {
    if (msg.type() === "error" && !/Failed to load resource/.test(msg.text())) errors.push(msg.text());
  });
  await page.goto(`${h.live.url}/?token=${encodeURIComponent(token)}${path}`);
  return { page, errors };
}

const row = (page: Page, key: string) => page.locator(`#packs tr[data-pack="${key}"]`);
const field = (page: Page, key: string, name: string) => row(page, key).locator(`td[data-field="${name}"]`);

/** `count` samples a second apart ending now, with a warm sensor 3 and a low cell 7. */
function recent(count: number, over: (i: number) => Partial<PackSample> = () => ({})): PackSample[] {
  const now = Date.now();
  return Array.from({ length: count }, (_, i) =>
    sample({
      ts: now - (count - 1 - i) * 1000,
      seq: i + 1,
      soc: 60 + i / 10,
      cycleCount: 412,
      chargeCurrentLimit: 50,
      dischargeCurrentLimit: 100,
      chargeVoltageLimit: 56.8,
      dischargeVoltageLimit: 44.8,
      cellVoltages: Array.from({ length: 16 }, (_, c) => (c === 6 ? 3.18 : 3.3 + c * 0.001)),
      cellTemperatures: [24.5, 25.1, 31 + (i % 3), 25.4],
      ...over(i),
    }),
  );
}

describe("fleet triage", () => {
  let hostile: SupportCase;
  beforeAll(async () => {
    await h.publish("bms/site-1/pack-1/meta", meta({ serial: "SN-4711" }));
    await h.publish("bms/site-1/pack-1/telemetry", sample({ seq: 1, soc: 55 }));
    await h.publish(
      "bms/site-1/pack-2/telemetry",
      sample({ seq: 1, soc: 8, cellTemperatures: [25, 58], bmsAlarms: ["OVER_TEMP_ALARM", "UNDER_SOC_MIN_WARNING"] }),
    );
    await h.publish("bms/site-2/status", { state: "offline", ts: Date.now() - 5000 });
    await h.publish("bms/site-2/pack-1/telemetry", sample({ seq: 1 }));
    // A hostile title must show as text, never as markup.
    hostile = await openCase(h.caseStore, "site-1", "pack-2", "over-temperature", {
      severity: "critical",
      title: '<img src=x onerror="window.__xss=1">Over temperature',
      evidence: { sample: null, value: 58, threshold: 55, index: 1, detail: "Sensor 2 at 58 °C", meta: null, bmsAlarms: [], rulesFired: [] },
    });
    await h.publish("cases/site-1/pack-2", { type: "opened", case: hostile });
  });

  it("ranks packs by urgency with counts, highlights values past the rules' limits, and keeps the token out of the address bar", async () => {
    const { page, errors } = await open("");
    await expect.poll(() => row(page, "site-1/pack-2").getAttribute("data-state"), { timeout: 10_000 }).toBe("critical");
    expect(page.url()).not.toContain("token=");
    const order = await page.locator("#packs tbody tr").evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.pack));
    expect(order.slice(0, 3)).toEqual(["site-1/pack-2", "site-2/pack-1", "site-1/pack-1"]);
    expect(await page.locator('.chip[data-state="critical"]').textContent()).toContain("Critical 1");
    expect(await page.locator('.chip[data-state="offline"]').textContent()).toContain("Offline 1");
    // Out-of-range values: coloured and marked in words, not by colour alone.
    const hot = field(page, "site-1/pack-2", "max-temp");
    expect(await hot.locator(".alarm").count()).toBe(1);
    expect(await hot.textContent()).toContain("(alarm)");
    expect(await field(page, "site-1/pack-2", "soc").locator(".warn").count()).toBe(1);
    // BMS alarms and warnings differ in shape and word, not only colour.
    expect(await row(page, "site-1/pack-2").locator(".code-alarm").textContent()).toContain("OVER_TEMP_ALARM");
    expect(await row(page, "site-1/pack-2").locator(".code-warning").textContent()).toContain("UNDER_SOC_MIN_WARNING");
    // The site with its agent offline is listed with its state.
    expect(await page.locator('#sites tr[data-site="site-2"]').textContent()).toContain("offline");
    // A live sample over MQTT reaches the table without a reload.
    await h.publish("bms/site-1/pack-1/telemetry", sample({ seq: 2, soc: 56.5 }));
    await expect.poll(() => field(page, "site-1/pack-1", "soc").textContent(), { timeout: 15_000 }).toBe("56.5");
    await screenshot(page, "fleet");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("searches by serial, filters by state, and opens a pack from the keyboard", async () => {
    const { page, errors } = await open("");
    await page.locator("#fleet-search").fill("sn-4711");
    await expect.poll(() => page.locator("#packs tbody tr[data-pack]").count(), { timeout: 10_000 }).toBe(1);
    expect(await row(page, "site-1/pack-1").count()).toBe(1);
    await page.locator("#fleet-search").fill("");
    await page.locator('.chip[data-state="critical"]').click();
    await expect.poll(() => page.locator("#packs tbody tr[data-pack]").count(), { timeout: 10_000 }).toBe(1);
    expect(page.url()).toContain("state=critical");
    // Keyboard: focus the pack's link and press Enter.
    await row(page, "site-1/pack-2").locator("a").focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => page.locator("#page h1").textContent(), { timeout: 10_000 }).toBe("site-1 / pack-2");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("shows a hostile case title as text", async () => {
    const { page } = await open(`#/case/${hostile.id}`);
    await expect.poll(() => page.locator("#page h1").textContent(), { timeout: 10_000 }).toBe('<img src=x onerror="window.__xss=1">Over temperature');
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    await page.close();
  });
});

describe("pack page", () => {
  beforeAll(async () => {
    await h.publish("bms/site-p/pack-7/meta", meta({ serial: "SN-PACK-7", bmsFirmware: "2.4.1", warrantyEnd: "2031-06-30" }));
    for (const s of recent(120)) await h.publish("bms/site-p/pack-7/telemetry", s);
    await openCase(h.caseStore, "site-p", "pack-7", "cell-under-voltage", { title: "Cell under-voltage on pack-7" });
  });

  it("shows trend charts from the history, the cells with the weak one marked, sensors, SOH, cycles, limits, identity and cases; live samples update it", async () => {
    const { page, errors } = await open("#/pack/site-p/pack-7");
    const soc = page.locator('figure[data-chart="State of charge"]');
    await expect.poll(async () => Number(await soc.getAttribute("data-points")), { timeout: 10_000 }).toBeGreaterThanOrEqual(100);
    expect(await page.locator(".charts").getAttribute("data-source")).toBe("live");
    expect(await page.locator('figure[data-chart="Temperatures"] .u-legend').textContent()).toContain("Highest sensor");
    expect(await page.locator("figure[data-chart] canvas").count()).toBeGreaterThanOrEqual(6);
    // Cells: cell 7 is the weak one, numbered from 1.
    await expect.poll(() => page.locator('figure[data-chart="Cell voltages"]').getAttribute("data-marked"), { timeout: 10_000 }).toBe("7");
    expect(await page.locator(".cells .stats").first().textContent()).toContain("lowest cell 7 at 3.180 V");
    expect(await page.locator(".cells .stats").first().textContent()).toContain("spread 135 mV");
    expect(await page.locator('.strip .tile[data-sensor="3"]').textContent()).toContain("hottest");
    const now = (await page.locator("section", { hasText: "Now" }).first().textContent()) ?? "";
    expect(now).toContain("98.0 %");
    expect(now).toContain("412");
    expect(now).toContain("50.0 A, 56.80 V");
    const identity = (await page.locator("section", { hasText: "Identity and warranty" }).textContent()) ?? "";
    expect(identity).toContain("SN-PACK-7");
    expect(identity).toContain("2.4.1");
    expect(identity).toContain("2024-01-01 to 2031-06-30");
    expect(await page.locator(".case-list").textContent()).toContain("Cell under-voltage on pack-7");
    // Grafana beside it: the pack's provisioned dashboards, for this pack and the range shown.
    const grafana = new URL((await page.locator('a[data-grafana="bms-pack"]').getAttribute("href")) ?? "");
    expect(`${grafana.origin}${grafana.pathname}`).toBe("https://grafana.example.com:3000/d/bms-pack");
    expect(Object.fromEntries(grafana.searchParams)).toEqual({ "var-site": "site-p", "var-pack": "pack-7", from: "now-10m", to: "now" });
    expect(await page.locator('a[data-grafana="bms-cells"]').getAttribute("href")).toContain("/d/bms-cells?var-site=site-p&var-pack=pack-7");
    // The 15 min range reads the same history; a live sample adds a point.
    await page.locator('[data-range="15m"]').click();
    await expect.poll(() => page.locator('[data-range="15m"]').getAttribute("aria-checked")).toBe("true");
    const before = Number(await soc.getAttribute("data-points"));
    await h.publish("bms/site-p/pack-7/telemetry", sample({ seq: 500, soc: 77.7 }));
    await expect.poll(async () => Number(await soc.getAttribute("data-points")), { timeout: 10_000 }).toBe(before + 1);
    await expect.poll(() => page.locator("section", { hasText: "Now" }).first().textContent(), { timeout: 10_000 }).toContain("77.7 %");
    // Two charts side by side on a wide screen, each as wide as its own column.
    expect(await overflowsSideways(page)).toBe(false);
    await screenshot(page, "pack");
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe("case page", () => {
  let opened: SupportCase;
  beforeAll(async () => {
    const frame = recent(40, (i) => ({ cellTemperatures: [25, 25.5, 40 + i, 25.2] }));
    const trigger = frame[29] as PackSample;
    opened = await openCase(h.caseStore, "site-c", "pack-3", "over-temperature", {
      severity: "critical",
      title: "Over-temperature on pack-3",
      at: trigger.ts,
      evidence: {
        sample: trigger,
        value: 69,
        threshold: 55,
        index: 2,
        detail: "Sensor 3 at 69 °C is above the 55 °C critical level for 3 s (4 samples).",
        meta: meta({ bmsFirmware: "3.1.0" }),
        bmsAlarms: ["OVER_TEMP_ALARM"],
        rulesFired: [],
      },
      freezeFrameBefore: frame.slice(0, 30),
      // The pack's use behind the assessment, as the ingestion keeps it.
      warranty: {
        coverage: "in-warranty",
        warrantyStart: "2024-01-01",
        warrantyEnd: "2034-01-01",
        assessedAt: trigger.ts,
        historySince: trigger.ts - 86_400_000,
        exclusions: [],
        suggestion: "free",
        reason: "In warranty; no excluded condition in the pack's history.",
        stress: {
          operatingHours: 1200,
          outsideHours: { "temperature-high": 6 },
          outsideSharePct: 0.5,
          maxOutsideSharePct: 5,
          highSocHighTemperatureHours: 2,
          maxTemperatureC: 69,
          minSocPct: 12,
          window: "0–45 °C, SOC 5–100 %",
        },
        throughput: {
          equivalentFullCycles: 310.4,
          throughputAh: 62_080,
          dischargedKWh: 1580.2,
          warrantedEquivalentCycles: 6000,
          warrantedThroughputKWh: null,
          usedPct: 5.2,
        },
        soh: {
          estimatePct: 93.1,
          uncertaintyPct: 1.4,
          windows: 12,
          ageYears: 2.5,
          warrantedMinPct: 92.5,
          eolSohPct: 70,
          warrantedYears: 10,
          forecastEolAt: null,
          cellVerdict: "balanced",
        },
        evidence: [{ topic: "soh", points: "free", text: "SOH 93.1 % is above the warranted 92.5 % at 2.5 years." }],
      },
    });
    await h.caseStore.appendFreezeFrame(opened.id, trigger.ts, frame.slice(30), true);
    // The ingestion followed the condition: the worst since, and the time it held.
    await h.caseStore.commit(
      [
        {
          kind: "follow",
          siteId: "site-c",
          packId: "pack-3",
          ruleId: "over-temperature",
          at: trigger.ts + 130_000,
          followUp: {
            direction: "above",
            worstValue: 80,
            worstIndex: 2,
            worstAt: trigger.ts + 60_000,
            worstDetail: "Sensor 3 at 80 °C",
            heldSince: trigger.ts - 3000,
            heldUntil: trigger.ts + 130_000,
          },
          warranty: null,
        },
      ],
      [],
    );
  });

  it("shows the freeze frame with its trigger, the evidence numbered from 1 and followed since, and the timeline", async () => {
    const { page, errors } = await open(`#/case/${opened.id}`);
    const chart = page.locator('.frame figure[data-chart="Temperatures"]');
    await expect.poll(() => chart.getAttribute("data-points"), { timeout: 10_000 }).toBe("40");
    expect(Number(await chart.getAttribute("data-trigger"))).toBe(opened.openedAt);
    const evidence = (await page.locator("section", { hasText: "Evidence" }).first().textContent()) ?? "";
    expect(evidence).toContain("Sensor 3 at 69 °C");
    expect(evidence).toContain("sensor 3");
    expect(evidence).not.toMatch(/#\d|index/);
    expect(evidence).toContain("worst Sensor 3 at 80 °C");
    expect(evidence).toContain("held 2 min 13 s");
    expect(evidence).toContain("repair looks free");
    // The pack's use behind the warranty assessment.
    expect(evidence).toContain("0.5 % of 1200 h outside 0–45 °C, SOC 5–100 % (allowed 5 %)");
    expect(evidence).toContain("310.4 cycles · 1580.2 kWh · 5.2 % of warranted");
    expect(evidence).toContain("93.1 ± 1.4 % (12 windows) · warranted 92.5 % at 2.5 years · cells balanced");
    expect(evidence).toContain("Evidence (soh, points free)SOH 93.1 % is above the warranted 92.5 % at 2.5 years.");
    // The snapshot at the trigger marks the case's sensor.
    expect(await page.locator(".strip .tile.marked").getAttribute("data-sensor")).toBe("3");
    expect(await page.locator(".timeline li").first().textContent()).toContain("opened");
    await screenshot(page, "case");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("takes a note, an assignment, a lifecycle move, a cost line and a spare part, which the API then returns", async () => {
    const { page, errors } = await open(`#/case/${opened.id}`);
    await page.locator("#note-form textarea").waitFor({ timeout: 10_000 });
    await page.locator("#note-form textarea").fill("Customer reports a fan noise since Monday.");
    await page.locator("#note-form button[type=submit]").click();
    await expect.poll(() => page.locator(".timeline").textContent(), { timeout: 10_000 }).toContain("Customer reports a fan noise since Monday.");

    await page.locator('#assign-form input[name="assignee"]').fill("Ada");
    await page.locator("#assign-form button[type=submit]").click();
    await expect.poll(async () => (await h.caseStore.get(opened.id))?.assignee, { timeout: 10_000 }).toBe("Ada");

    await page.locator('button[data-status="acknowledged"]').click();
    await expect.poll(async () => (await h.caseStore.get(opened.id))?.status, { timeout: 10_000 }).toBe("acknowledged");
    await expect.poll(() => page.locator(".moves button").allTextContents(), { timeout: 10_000 }).toEqual(["Diagnose remotely", "Resolved"]);

    await page.locator('#cost-form select[name="category"]').selectOption("labour");
    await page.locator('#cost-form input[name="description"]').fill("Remote diagnosis, 1.5 h");
    await page.locator('#cost-form input[name="quantity"]').fill("1.5");
    await page.locator('#cost-form input[name="unitPrice"]').fill("80");
    await page.locator("#cost-form button[type=submit]").click();
    await expect.poll(() => page.locator("#cost-totals").textContent(), { timeout: 10_000 }).toContain("EUR: company 120.00");

    await page.locator('#part-form input[name="part"]').fill("FAN-40MM");
    await page.locator("#part-form button[type=submit]").click();
    await expect.poll(() => page.locator("#spare-parts").textContent(), { timeout: 10_000 }).toContain("1 × FAN-40MM for BMS 3.1.0");

    // A refused input stays in its form with the server's reason (the price cap is the server's alone).
    await page.locator('#cost-form input[name="unitPrice"]').fill("20000000");
    await page.locator("#cost-form button[type=submit]").click();
    await expect.poll(() => page.locator("#cost-form .error").textContent(), { timeout: 10_000 }).toContain("unitPrice");

    const res = await fetch(`${h.live.url}/api/cases/${opened.id}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const c = (await res.json()) as SupportCase;
    expect(c.costLines).toEqual([
      expect.objectContaining({ category: "labour", quantity: 1.5, unitPrice: 80, amount: 120, currency: "EUR", bearer: "company", addedBy: "admin" }),
    ]);
    expect(c.spareParts).toEqual([expect.objectContaining({ part: "FAN-40MM", quantity: 1, bmsVersion: "3.1.0" })]);
    expect(c.timeline?.map((t) => t.kind)).toEqual(["opened", "note", "assigned", "status", "cost-line", "spare-part"]);
    await screenshot(page, "case-worked");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("keeps what an engineer is typing when the case changes under it", async () => {
    const { page, errors } = await open(`#/case/${opened.id}`);
    await page.locator("#note-form textarea").waitFor({ timeout: 10_000 });
    await page.locator('#cost-form input[name="description"]').fill("Freight to site C");
    await page.locator("#note-form textarea").fill("Half a note about the fan");

    // Another engineer takes the case: the page redraws with the new assignee.
    const res = await fetch(`${h.live.url}/api/cases/${opened.id}/assign`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ assignee: "Grace" }),
    });
    expect(res.status).toBe(200);
    await expect.poll(() => page.locator(".case-head + p").textContent(), { timeout: 10_000 }).toContain("assigned to Grace");

    expect(await page.locator("#note-form textarea").inputValue()).toBe("Half a note about the fan");
    expect(await page.locator('#cost-form input[name="description"]').inputValue()).toBe("Freight to site C");
    expect(await page.locator("#note-form textarea").evaluate((node) => node === document.activeElement)).toBe(true);
    // A field left alone shows the new state.
    expect(await page.locator('#assign-form input[name="assignee"]').inputValue()).toBe("Grace");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("shows a viewer the case without the forms", async () => {
    const { page } = await open(`#/case/${opened.id}`, VIEWER_TOKEN);
    await expect.poll(() => page.locator("section", { hasText: "Work the case" }).textContent(), { timeout: 10_000 }).toContain("an engineer token works them");
    expect(await page.locator("#note-form").count()).toBe(0);
    await page.close();
  });
});

describe("case search", () => {
  it("finds closed cases by status, site and rule", async () => {
    const closed = await closeCase(h.caseStore, (await openCase(h.caseStore, "site-s", "pack-1", "low-soh", { title: "Low SOH, closed" })).id);
    await openCase(h.caseStore, "site-s", "pack-2", "low-soh", { title: "Low SOH, still open" });
    const { page, errors } = await open("#/cases");
    await page.locator("#filter-status").selectOption("closed");
    await page.locator("#filter-siteId").fill("site-s");
    await page.locator("#case-filters button[type=submit]").click();
    await expect.poll(() => page.locator("#cases tbody tr[data-case-id]").count(), { timeout: 10_000 }).toBe(1);
    expect(await page.locator(`#cases tr[data-case-id="${closed.id}"]`).textContent()).toContain("Low SOH, closed");
    expect(page.url()).toContain("status=closed");
    await screenshot(page, "cases");
    await page.locator(`#cases tr[data-case-id="${closed.id}"] a`, { hasText: "Low SOH" }).click();
    await expect.poll(() => page.locator("#page h1").textContent(), { timeout: 10_000 }).toBe("Low SOH, closed");
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe("on a phone, by keyboard, by token", () => {
  it("fits 420 px without sideways scrolling on every screen", async () => {
    const narrow = { width: 420, height: 860 };
    for (const path of ["", "#/pack/site-p/pack-7", "#/cases"]) {
      const { page, errors } = await open(path, TOKEN, narrow);
      await page.locator("#page h1").first().waitFor({ timeout: 10_000 });
      await page.waitForTimeout(500);
      expect(await overflowsSideways(page), path || "fleet").toBe(false);
      await screenshot(page, `narrow-${path.replace(/[^a-z0-9]+/gi, "-") || "fleet"}`);
      expect(errors).toEqual([]);
      await page.close();
    }
  });

  it("has a favicon and serves uPlot from the service itself", async () => {
    expect((await fetch(`${h.live.url}/favicon.svg`)).headers.get("content-type")).toBe("image/svg+xml");
    const uplot = await fetch(`${h.live.url}/vendor/uplot/uPlot.esm.js`);
    expect(uplot.status).toBe(200);
    expect(await uplot.text()).toContain("export { uPlot as default }");
    // Nothing outside the fixed list of files is served.
    for (const path of ["/js/../../src/main.ts", "/vendor/uplot/package.json", "/src/main.ts", "/js/%2E%2E%2Fconsole.css", "/../package.json"]) {
      expect((await fetch(`${h.live.url}${path}`)).status, path).toBe(404);
    }
  });

  it("shows a site-scoped token its own sites only", async () => {
    await h.publish("bms/site-1/pack-9/telemetry", sample({ seq: 1, soc: 42 }));
    await h.publish("bms/site-2/pack-9/telemetry", sample({ seq: 1, soc: 43 }));
    const { page } = await open("", SITE1_TOKEN);
    await expect.poll(() => field(page, "site-1/pack-9", "soc").textContent(), { timeout: 10_000 }).toBe("42.0");
    expect(await page.locator("#who").textContent()).toContain("Sam");
    const keys = await page.locator("#packs tbody tr[data-pack]").evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.pack));
    expect(keys.every((key) => key?.startsWith("site-1/"))).toBe(true);
    await page.goto(`${h.live.url}/#/cases?status=any`);
    await expect.poll(() => page.locator("#cases tbody tr").count(), { timeout: 10_000 }).toBeGreaterThan(0);
    const sites = await page.locator("#cases tbody tr[data-case-id] td:nth-child(2)").allTextContents();
    expect(sites.every((s) => s.startsWith("site-1 /"))).toBe(true);
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
    await expect.poll(() => page.locator("#page h1").textContent(), { timeout: 10_000 }).toBe("Fleet");
    await page.close();
  });
});

describe("limits per chemistry (GET /api/meta)", () => {
  it("highlights with the limits of the rules the ingestion runs", async () => {
    // 4.22 V is past the NMC major level (4.2 V) and past no LFP limit; LFP at 3.6 V is past its warning level (3.55 V) only.
    await h.publish("bms/site-3/nmc-1/meta", meta({ chemistry: "NMC", serial: "SN-NMC" }));
    await h.publish("bms/site-3/nmc-1/telemetry", sample({ seq: 1, cellVoltages: [4.1, 4.22], cellTemperatures: [25, 57] }));
    await h.publish("bms/site-3/lfp-1/meta", meta({ chemistry: "LFP", serial: "SN-LFP" }));
    await h.publish("bms/site-3/lfp-1/telemetry", sample({ seq: 1, cellVoltages: [3.3, 3.6], cellTemperatures: [25, 57] }));
    const { page } = await open("#/?q=site-3");
    await expect.poll(() => field(page, "site-3/nmc-1", "max-cell").textContent(), { timeout: 10_000 }).toContain("4.220");
    expect(await field(page, "site-3/nmc-1", "max-cell").locator(".alarm").count()).toBe(1);
    await expect.poll(() => field(page, "site-3/lfp-1", "max-cell").locator(".warn").count(), { timeout: 10_000 }).toBe(1);
    expect(await field(page, "site-3/nmc-1", "max-temp").locator(".alarm").count()).toBe(1);
    expect(await field(page, "site-3/lfp-1", "min-cell").locator(".warn, .alarm").count()).toBe(0);
    await page.close();
  });
});

describe("health and the monthly follow-up", () => {
  it("shows a pack's health on its page: SOH or why there is none, throughput, stress and the warranty window", async () => {
    // Three hours of a simulated pack through the ingestion's rule engine, on the live service's case store.
    const t0 = Date.now() - 3 * 3_600_000;
    const fast = await startFastEngine(h.dataDir, { now: t0 });
    const scenario = parseScenario({ name: "site-4", seed: 4, packs: 1, packDefaults: { capacityAh: 50 }, durationS: 3 * 3600, intervalS: 30 });
    await feedScenario(fast.engine, scenario, { siteId: "site-4", t0 });
    await fast.close();
    await h.publish("bms/site-4/pack-1/telemetry", sample({ seq: 1, soc: 61 }));
    await h.publish("bms/site-4/pack-2/telemetry", sample({ seq: 1, soc: 62 }));
    const health = await (await fetch(`${h.live.url}/api/packs/site-4/pack-1/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();

    const { page, errors } = await open("#/pack/site-4/pack-1");
    const panel = page.locator("#pack-health");
    await expect.poll(() => panel.textContent(), { timeout: 10_000 }).toContain("equivalent full cycles");
    const text = (await panel.textContent()) ?? "";
    expect(text).toContain("no estimate: not enough data");
    expect(text).toContain(`${health.throughputAh.toFixed(1)} Ah · ${health.equivalentFullCycles.toFixed(2)} equivalent full cycles`);
    expect(text).toMatch(/Most hours \(SOC × temperature\)soc \d+-\d+ \| [^:]+ °C: \d+\.\d h/);
    expect(text).toContain(`% of ${health.operatingHours.toFixed(1)} h outside`);

    // A pack the ingestion has not counted yet says so.
    await page.goto(`${h.live.url}/#/pack/site-4/pack-2`);
    await expect.poll(() => page.locator("#pack-health").textContent(), { timeout: 10_000 }).toContain("No health figures");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("downloads the month's follow-up report as PDF and HTML, with the token's sites only", async () => {
    const { page, errors } = await open("");
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

    const scoped = (await open("", SITE1_TOKEN)).page;
    await expect.poll(() => scoped.locator("#reports-section").isVisible(), { timeout: 10_000 }).toBe(true);
    await scoped.fill("#report-month", thisMonth);
    const [file] = await Promise.all([scoped.waitForEvent("download"), scoped.click('#report-form button[data-format="html"]')]);
    expect(readFileSync(await file.path(), "utf8")).not.toContain("site-4");
    await scoped.close();
  });
});
