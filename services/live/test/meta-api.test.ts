import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { RuleBook } from "@bms/ingestion";
import { CASE_TRANSITIONS, ConfigError, type LiveMeta } from "@bms/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import { type Harness, startHarness, VIEWER_TOKEN } from "./live-harness";

/** GET /api/meta: the console's limits come from the rule book the ingestion runs, its buttons from CASE_TRANSITIONS. */
let dir: TempDir;

async function metaOf(h: Harness): Promise<LiveMeta> {
  const res = await fetch(`${h.live.url}/api/meta`, { headers: { authorization: `Bearer ${VIEWER_TOKEN}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as LiveMeta;
}

const thresholds = (meta: LiveMeta, chemistry: keyof LiveMeta["limits"], metric: keyof LiveMeta["limits"]["LFP"]) =>
  meta.limits[chemistry][metric]?.map((l) => `${l.ruleId} ${l.direction} ${l.threshold} ${l.severity}`);

beforeAll(() => {
  dir = makeTempDir("bms-live-meta-");
});
afterAll(() => {
  dir?.remove();
});

describe("GET /api/meta", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it("serves each chemistry's rule levels over the values the console shows, as the shipped rules set them", async () => {
    const meta = await metaOf(h);
    expect(meta.defaultChemistry).toBe("LFP");
    expect(thresholds(meta, "LFP", "cell-voltage-max")).toEqual(["cell-over-voltage above 3.55 warning", "cell-over-voltage above 3.65 major"]);
    expect(thresholds(meta, "NMC", "cell-voltage-max")).toEqual(["cell-over-voltage above 4.17 warning", "cell-over-voltage above 4.2 major"]);
    expect(thresholds(meta, "NMC", "temperature-max")).toEqual(["over-temperature above 55 major", "over-temperature above 60 critical"]);
    expect(thresholds(meta, "LFP", "soc")).toEqual(["low-soc below 20 warning", "low-soc below 10 minor"]);
    // Rules that only apply while charging (charge-over-temperature) cannot be shown on a value alone.
    expect(meta.limits.LFP["temperature-max"]?.some((l) => l.ruleId === "charge-over-temperature")).toBe(false);
    // The same numbers the ingestion resolves.
    const book = RuleBook.load();
    const rule = book.resolve("any-site", "any-pack", "NMC").byId.get("cell-under-voltage");
    expect(rule?.kind === "threshold" ? rule.levels.major?.threshold : undefined).toBe(
      meta.limits.NMC["cell-voltage-min"]?.find((l) => l.severity === "major")?.threshold,
    );
  });

  it("serves the case moves of the after-sales process with their button labels", async () => {
    const meta = await metaOf(h);
    for (const [from, moves] of Object.entries(CASE_TRANSITIONS)) {
      expect(meta.caseActions[from as keyof typeof CASE_TRANSITIONS].map((a) => a.status)).toEqual(moves);
    }
    expect(meta.caseActions.resolved).toEqual([
      { status: "closed", label: "Close (customer confirmed)" },
      { status: "remote-diagnosis", label: "Fix did not hold" },
    ]);
  });

  it("needs a token", async () => {
    expect((await fetch(`${h.live.url}/api/meta`)).status).toBe(401);
  });

  it("has no Grafana unless one is configured", async () => {
    expect((await metaOf(h)).grafanaUrl).toBeNull();
  });
});

describe("grafanaUrl", () => {
  it("is served to the console without a trailing slash", async () => {
    const h = await startHarness({ grafanaUrl: "http://grafana.local:3000/" });
    try {
      expect((await metaOf(h)).grafanaUrl).toBe("http://grafana.local:3000");
    } finally {
      await h.close();
    }
  });

  it.each(["javascript:alert(1)", "ftp://grafana.local", "grafana.local:3000", ""])("refuses %j, naming the field", async (url) => {
    const start = startHarness({ grafanaUrl: url });
    await expect(start).rejects.toThrow(/grafanaUrl/);
  });
});

describe("rulesFile", () => {
  it("layers a site's own rule file over the shipped rules, as the ingestion does", async () => {
    const file = join(dir.path, "rules.yaml");
    writeFileSync(
      file,
      "version: 1\nchemistries:\n  NMC:\n    rules:\n      cell-over-voltage:\n        levels:\n          major: { threshold: 4.25, clear: 4.15 }\n",
    );
    const h = await startHarness({ rulesFile: file });
    try {
      expect(thresholds(await metaOf(h), "NMC", "cell-voltage-max")).toEqual(["cell-over-voltage above 4.17 warning", "cell-over-voltage above 4.25 major"]);
    } finally {
      await h.close();
    }
  });

  it("refuses to start on a bad rule file, naming the field", async () => {
    const file = join(dir.path, "bad-rules.yaml");
    writeFileSync(file, "version: 1\nrules:\n  cell-over-voltage:\n    levels:\n      major: { threshold: high }\n");
    const start = startHarness({ rulesFile: file });
    await expect(start).rejects.toBeInstanceOf(ConfigError);
    await expect(start).rejects.toThrow(/cell-over-voltage/);
  });
});
