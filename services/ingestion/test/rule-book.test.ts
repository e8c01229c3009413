import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "@bms/shared";
import { describe, expect, it } from "vitest";
import { makeTempDir } from "../../../test/support/temp-dir";
import { type Rule, RuleBook } from "../src/rules/rule-book";

function levelsOf(rule: Rule | undefined) {
  if (rule?.kind !== "threshold" && rule?.kind !== "cell-spread") throw new Error(`${rule?.id} has no levels`);
  return rule.levels;
}

function problems(load: () => unknown): string[] {
  try {
    load();
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("the rule book", () => {
  it("ships LFP defaults, NMC values, and covers the standard BMS alarm set", () => {
    const book = RuleBook.load();
    const lfp = book.resolve("s", "p", "LFP");
    const nmc = book.resolve("s", "p", "NMC");
    expect(levelsOf(lfp.byId.get("cell-over-voltage")).major).toMatchObject({ threshold: 3.65, clear: 3.5, confirmedBy: ["OVER_VOLT_ALARM"] });
    expect(levelsOf(nmc.byId.get("cell-over-voltage")).major).toMatchObject({ threshold: 4.2, clear: 4.12, holdS: 3 });
    expect(levelsOf(nmc.byId.get("over-temperature")).critical?.threshold).toBe(60);
    expect(nmc.warranty).toMatchObject({ maxTemperatureC: 60, cutoffCellVoltage: 2.75 });
    expect(lfp.warranty).toMatchObject({ maxTemperatureC: 55, cutoffCellVoltage: 2.5, minChargeTemperatureC: 0 });
    // dbus-serialbattery's set: pack and cell voltage high/low, imbalance, charge/discharge current,
    // (charge) temperature high/low, low SOC, internal failure, BMS cable, state of health; plus the rest.
    const kinds = new Map([...lfp.byId.values()].map((r) => [r.id, r.kind]));
    for (const id of [
      "pack-over-voltage",
      "pack-under-voltage",
      "cell-over-voltage",
      "cell-under-voltage",
      "cell-imbalance",
      "over-charge-current",
      "over-discharge-current",
      "charge-over-temperature",
      "charge-under-temperature",
      "over-temperature",
      "under-temperature",
      "low-soc",
      "low-soh",
      "bms-alarm",
      "sensor-fault",
      "pack-voltage-mismatch",
      "insulation-fault",
      "no-data",
      "site-offline",
      "link-errors",
      "cell-drift",
      "thermal-runaway-precursor",
      "current-peaks",
    ]) {
      expect(kinds.has(id), id).toBe(true);
    }
    expect(new Set(kinds.values())).toEqual(
      new Set(["threshold", "cell-spread", "repeating", "rate-of-change", "cell-drift", "sensor-fault", "no-data", "site-offline", "bms-alarm", "link-errors"]),
    );
    // A pack whose meta says "other" gets the default chemistry.
    expect(book.resolve("s", "p", "other").chemistry).toBe("other");
    expect(book.resolve("s", "p").chemistry).toBe("LFP");
  });

  it("layers a site's file over the defaults, then chemistry, site and pack sections", () => {
    const dir = makeTempDir("bms-rules-");
    try {
      const file = join(dir.path, "site-rules.yaml");
      writeFileSync(
        file,
        [
          "rules:",
          "  low-soc: { enabled: false }",
          "  cell-over-voltage:",
          "    levels: { warning: null }",
          "  fan-hours:",
          "    kind: threshold",
          "    title: Pack too warm for the fan",
          "    metric: temperature-max",
          "    direction: above",
          "    levels: { warning: { threshold: 40, clear: 35, holdS: 600 } }",
          "chemistries:",
          "  NMC:",
          "    rules:",
          "      over-temperature: { levels: { critical: { threshold: 58 } } }",
          "sites:",
          "  desert-1:",
          "    chemistry: NMC",
          "    rules:",
          "      over-temperature: { levels: { critical: { threshold: 62 } } }",
          "packs:",
          "  desert-1/pack-9:",
          "    chemistry: LFP",
          "    ratedCapacityAh: 280",
          "    rules:",
          "      no-data: { timeoutS: 900 }",
        ].join("\n"),
      );
      const book = RuleBook.load({ file });
      const plain = book.resolve("home-1", "pack-1", "LFP");
      expect(plain.byId.get("low-soc")?.enabled).toBe(false);
      expect(plain.rules.some((r) => r.id === "low-soc")).toBe(false);
      expect(Object.keys(levelsOf(plain.byId.get("cell-over-voltage")))).toEqual(["warning", "major"]);
      expect(levelsOf(plain.byId.get("cell-over-voltage")).warning).toBeNull();
      expect(levelsOf(plain.byId.get("fan-hours")).warning?.threshold).toBe(40);
      expect(levelsOf(book.resolve("home-1", "pack-1", "NMC").byId.get("over-temperature")).critical?.threshold).toBe(58);
      // The site's section wins over the chemistry's; the meta's chemistry wins over the site's default.
      const desert = book.resolve("desert-1", "pack-1");
      expect(desert.chemistry).toBe("NMC");
      expect(levelsOf(desert.byId.get("over-temperature")).critical?.threshold).toBe(62);
      expect(book.resolve("desert-1", "pack-2", "LFP").chemistry).toBe("LFP");
      // The pack's section wins over everything, chemistry included.
      const nine = book.resolve("desert-1", "pack-9", "NMC");
      expect(nine).toMatchObject({ chemistry: "LFP", ratedCapacityAh: 280 });
      expect(nine.byId.get("no-data")).toMatchObject({ timeoutS: 900 });
      expect(levelsOf(nine.byId.get("over-temperature")).critical?.threshold).toBe(62);
    } finally {
      dir.remove();
    }
  });

  it("finds every mistake at load, one line each, naming the section", () => {
    const lines = problems(() =>
      RuleBook.load({
        inline: {
          settings: { restCurrentC: -1 },
          rules: {
            "over-temperature": { levels: { critical: { threshold: "hot" } } },
            "cell-over-voltage": { explainedBy: ["nonsense-rule"] },
            orphan: { levels: {} },
            "my-repeat": {
              kind: "repeating",
              title: "x",
              metric: "soc",
              direction: "below",
              threshold: 5,
              clear: 10,
              count: 1,
              windowS: 60,
              severity: "minor",
            },
            "bms-alarm": { codes: { NOT_A_CODE: { severity: "major" } } },
          },
          sites: { "site-7": { rules: { "no-data": { timeoutS: 0 } } } },
          packs: { "site-7/pack-1": { rules: { "cell-imbalance": { quantity: "pressure" } } } },
        },
      }),
    );
    const text = lines.join("\n");
    expect(text).toMatch(/^settings: restCurrentC: Too small/m);
    expect(text).toMatch(/^rules\.over-temperature: levels\.critical\.threshold: expected number, got "hot"$/m);
    expect(text).toMatch(/^rules\.cell-over-voltage\.explainedBy: no rule "nonsense-rule"$/m);
    expect(text).toMatch(/^rules\.orphan: no rule "orphan" to change/m);
    expect(text).toMatch(/^rules\.my-repeat: count: Too small/m);
    expect(text).toMatch(/^sites\.site-7\.rules\.no-data \(merged with the rule it changes\): timeoutS: Too small/m);
    expect(text).toMatch(/^packs\.site-7\/pack-1\.rules\.cell-imbalance \(merged with the rule it changes\): quantity/m);
    expect(text).toMatch(/NOT_A_CODE/);
    expect(problems(() => RuleBook.load({ inline: { rule: {} } })).join("\n")).toMatch(/Unrecognized key: "rule"/);
    expect(problems(() => RuleBook.load({ inline: { packs: { "no-slash": {} } } })).join("\n")).toMatch(/packs\.no-slash: Invalid key/);
  });

  it("starts from nothing with replaceDefaults, and says so when the file is missing", () => {
    const book = RuleBook.load({
      inline: {
        replaceDefaults: true,
        warranty: { maxTemperatureC: 50, cutoffCellVoltage: 2.5, maxChargeC: 0.5, maxDischargeC: 1 },
        rules: { "no-data": { kind: "no-data", title: "Quiet", timeoutS: 30, severity: "warning" } },
      },
    });
    expect([...book.resolve("s", "p").byId.keys()]).toEqual(["no-data"]);
    expect(problems(() => RuleBook.load({ file: "/nonexistent/rules.yaml" })).join("\n")).toMatch(/cannot read the file/);
  });
});
