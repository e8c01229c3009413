import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { sampleToLines } from "@bms/ingestion";
import type { PackSample } from "@bms/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InfluxDbServer, startInfluxDb } from "../support/influxdb";

/**
 * Grafana does not run here: its dashboards are checked for what they refer to (the provisioned
 * data source, their variables), and every InfluxQL query in them runs, with Grafana's macros
 * filled in as Grafana fills them, against a real InfluxDB (Debian's 1.6.7) holding samples the
 * ingestion's own line protocol wrote. A renamed measurement or field fails here.
 */
const ROOT = new URL("../..", import.meta.url).pathname;
const DASHBOARDS = join(ROOT, "services/grafana/dashboards");
const DATASOURCE_UID = "bms-influxdb";

interface Target {
  refId: string;
  rawQuery?: boolean;
  query: string;
  datasource?: { uid: string };
}
interface Panel {
  id: number;
  title: string;
  type: string;
  datasource?: { type: string; uid: string };
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  templating: { list: { name: string; query: string; datasource?: { uid: string } }[] };
  panels: Panel[];
}

const dashboards = readdirSync(DASHBOARDS)
  .filter((f) => f.endsWith(".json"))
  .map((file) => ({ file, dashboard: JSON.parse(readFileSync(join(DASHBOARDS, file), "utf8")) as Dashboard }));

const NOW = Date.now();
/** Ten minutes of one 16-cell, 4-sensor pack at 1 Hz with a weak cell 7, an alarm at the end; and a second site. */
function samples(cells = 16): PackSample[] {
  return Array.from({ length: 600 }, (_, i) => ({
    v: 1,
    ts: NOW - (600 - i) * 1000,
    seq: i + 1,
    packVoltage: 52.8,
    current: i < 300 ? -20 : 15,
    soc: 70 - i / 100,
    soh: 96,
    cycleCount: 412,
    remainingCapacity: 140,
    chargeCurrentLimit: 50,
    dischargeCurrentLimit: 100,
    chargeVoltageLimit: 56.8,
    dischargeVoltageLimit: 44.8,
    insulationResistance: 1800,
    cellVoltages: Array.from({ length: cells }, (_, c) => (c === 6 ? 3.18 : 3.3)),
    cellTemperatures: [24.5, 25.1, 31, 25.4],
    bmsAlarms: i > 590 ? ["OVER_TEMP_WARNING"] : [],
  }));
}

/** As Grafana fills its macros and variables for "the last hour", site s1 and pack p1. */
function filled(query: string): string {
  return query.replaceAll("$timeFilter", "time > now() - 1h").replaceAll("$__interval", "10s").replaceAll("$site", "s1").replaceAll("$pack", "p1");
}

interface InfluxAnswer {
  results: { error?: string; series?: { name: string; columns: string[]; values: unknown[][]; tags?: Record<string, string> }[] }[];
}

let influx: InfluxDbServer;
beforeAll(async () => {
  influx = await startInfluxDb("bms");
  const lines = [...samples().flatMap((s) => sampleToLines("s1", "p1", s)), ...samples(8).flatMap((s) => sampleToLines("s2", "p9", s))];
  for (let i = 0; i < lines.length; i += 5000) await influx.write(lines.slice(i, i + 5000));
}, 60_000);
afterAll(async () => {
  await influx?.stop();
});

describe("Grafana dashboards (services/grafana/dashboards)", () => {
  it("are the fleet, pack and cells dashboards, each with a unique uid", () => {
    expect(dashboards.map((d) => d.file).sort()).toEqual(["cells.json", "fleet.json", "pack.json"]);
    expect(new Set(dashboards.map((d) => d.dashboard.uid)).size).toBe(3);
  });

  it.each(dashboards.map((d) => [d.file, d.dashboard] as const))("%s uses the provisioned data source and only variables it defines", (_file, dashboard) => {
    const defined = new Set(dashboard.templating.list.map((v) => v.name));
    const queries = [...dashboard.templating.list.map((v) => v.query), ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.query))];
    for (const panel of dashboard.panels) {
      expect(panel.datasource?.uid, panel.title).toBe(DATASOURCE_UID);
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expect(target.rawQuery, `${panel.title} ${target.refId}`).toBe(true);
    }
    for (const variable of dashboard.templating.list) expect(variable.datasource?.uid, variable.name).toBe(DATASOURCE_UID);
    for (const query of queries) {
      for (const [, name] of query.matchAll(/\$(\w+)/g)) {
        if (name === "timeFilter" || name === "__interval") continue;
        expect(defined.has(name as string), `$${name} in ${query}`).toBe(true);
      }
    }
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
  });

  it.each(dashboards.map((d) => [d.file, d.dashboard] as const))(
    "%s: every panel's query returns the pack's data from the ingestion's layout",
    async (_file, dashboard) => {
      for (const panel of dashboard.panels) {
        for (const target of panel.targets ?? []) {
          const answer = (await influx.query(filled(target.query))) as InfluxAnswer;
          const result = answer.results[0];
          expect(result?.error, `${panel.title}: ${target.query}`).toBeUndefined();
          const values = (result?.series ?? []).flatMap((s) => s.values.flatMap((row) => row.slice(1)));
          expect(
            values.some((v) => typeof v === "number"),
            `${panel.title} (${target.refId}) has numbers: ${filled(target.query)}`,
          ).toBe(true);
        }
      }
    },
  );

  it.each(dashboards.map((d) => [d.file, d.dashboard] as const))("%s: every variable lists the sites and packs written", async (_file, dashboard) => {
    for (const variable of dashboard.templating.list) {
      const answer = (await influx.query(filled(variable.query))) as InfluxAnswer;
      const values = (answer.results[0]?.series ?? []).flatMap((s) => s.values.map((row) => row[1]));
      expect(values, variable.name).toEqual(variable.name === "site" ? ["s1", "s2"] : ["p1"]);
    }
  });

  it("shows the cells numbered from 1 with the weak one, the fleet per pack, and the alarm codes", async () => {
    const query = async (file: string, title: string) => {
      const panel = dashboards.find((d) => d.file === file)?.dashboard.panels.find((p) => p.title === title);
      const answer = (await influx.query(filled(panel!.targets![0]!.query))) as InfluxAnswer;
      return answer.results[0]?.series ?? [];
    };
    const [cells] = await query("cells.json", "Cell voltages now");
    const columns = cells!.columns.slice(1);
    expect(columns).toHaveLength(16);
    expect(columns[0]).toMatch(/v1$/);
    const row = cells!.values[0]!.slice(1) as number[];
    expect(columns[row.indexOf(Math.min(...row))]).toMatch(/v7$/);
    // The fleet's site variable set to every site (Grafana's "All" is .*): one series per pack.
    const panel = dashboards.find((d) => d.file === "fleet.json")!.dashboard.panels.find((p) => p.title === "Hottest sensor")!;
    const all = (await influx.query(filled(panel.targets![0]!.query).replaceAll("/^s1$/", "/^.*$/"))) as InfluxAnswer;
    expect((all.results[0]?.series ?? []).map((s) => `${s.tags?.site}/${s.tags?.pack}`).sort()).toEqual(["s1/p1", "s2/p9"]);
    const alarms = await query("fleet.json", "BMS alarm codes seen");
    expect(alarms.map((s) => s.tags?.code)).toEqual(["OVER_TEMP_WARNING"]);
  });
});
