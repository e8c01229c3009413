import { performance } from "node:perf_hooks";
import { createInfluxWriter, sampleToLines } from "@bms/ingestion";
import type { PackSample } from "@bms/shared";
import { InfluxConfig } from "@bms/shared/config/ingestion-config";
import { startVictoriaMetrics } from "../support/victoria-metrics";

/**
 * The time-series layout, measured against the one it replaced (the baseline, kept here only):
 * lines, bytes and points per 16-cell sample, series per pack, write throughput into
 * VictoriaMetrics through the ingestion's writer, and the query "max cell voltage of a pack over
 * a day" (a day of 1 Hz samples of one pack) answered both ways.
 */

/** The layout before: one line per cell and per sensor (33 lines for 16 cells and 16 sensors). */
function legacyLines(siteId: string, packId: string, s: PackSample): string[] {
  const tags = `site=${siteId},pack=${packId}`;
  const lines = [
    `pack,${tags} voltage=${s.packVoltage},current=${s.current},soc=${s.soc},seq=${s.seq},cell_voltage_min=${Math.min(...s.cellVoltages)},cell_voltage_max=${Math.max(...s.cellVoltages)},temperature_max=${Math.max(...s.cellTemperatures)} ${s.ts}`,
  ];
  for (const [i, v] of s.cellVoltages.entries()) lines.push(`cell,${tags},cell=${i} voltage=${v} ${s.ts}`);
  for (const [i, t] of s.cellTemperatures.entries()) lines.push(`sensor,${tags},sensor=${i} temperature=${t} ${s.ts}`);
  return lines;
}

function sample(ts: number, seq: number): PackSample {
  return {
    v: 1,
    ts,
    seq,
    packVoltage: 52.8 + (seq % 7) * 0.01,
    current: -20 + (seq % 40),
    soc: 50 + (seq % 50) * 0.5,
    cellVoltages: Array.from({ length: 16 }, (_, c) => 3.3 + ((seq + c) % 10) * 0.001 + (c === 5 && seq === 40_000 ? 0.2 : 0)),
    cellTemperatures: Array.from({ length: 16 }, (_, c) => 25 + ((seq + c) % 5) * 0.1),
  };
}

interface LayoutFigures {
  linesPerSample: number;
  bytesPerSample: number;
  pointsPerSample: number;
  seriesPerPack: number;
  writeSamplesPerS: number;
  dayMaxQueryMs: number;
  dayMaxValue: number;
}

async function measure(
  name: "legacy" | "current",
  toLines: (site: string, pack: string, s: PackSample) => string[],
  dayQuery: (site: string, pack: string) => string,
): Promise<LayoutFigures> {
  const vm = await startVictoriaMetrics();
  try {
    const writer = createInfluxWriter(InfluxConfig.parse({ url: vm.url, org: "bench", timeoutMs: 30_000 }));
    const dayStart = Date.UTC(2026, 10, 1);
    // A day of 1 Hz samples of one pack, through the ingestion's writer in requests of about 5000 lines.
    const samples = Array.from({ length: 86_400 }, (_, i) => sample(dayStart + i * 1000, i));
    const lines = samples.map((s) => toLines("layout-site", `${name}-pack`, s));
    const linesPerSample = lines[0]?.length ?? 0;
    const perRequest = Math.max(1, Math.floor(5000 / linesPerSample));
    const t0 = performance.now();
    for (let i = 0; i < lines.length; i += perRequest) await writer.write(lines.slice(i, i + perRequest).flat());
    const writeSeconds = (performance.now() - t0) / 1000;
    await fetch(`${vm.url}/internal/force_flush`);
    const seriesQuery = new URLSearchParams({ "match[]": `{site="layout-site"}`, start: String(dayStart / 1000 - 60), end: String(dayStart / 1000 + 86_460) });
    const series = (await (await fetch(`${vm.url}/api/v1/series?${seriesQuery}`)).json()) as { data: unknown[] };
    // Median of 7 runs; VictoriaMetrics caches whole answers, which the nocache flag turns off.
    const query = new URLSearchParams({ query: dayQuery("layout-site", `${name}-pack`), time: String((dayStart + 86_400_000) / 1000), nocache: "1" });
    let answer: { data: { result: { value: [number, string] }[] } } = { data: { result: [] } };
    const times: number[] = [];
    for (let run = 0; run < 7; run++) {
      const q0 = performance.now();
      answer = (await (await fetch(`${vm.url}/api/v1/query?${query}`)).json()) as typeof answer;
      times.push(performance.now() - q0);
    }
    const dayMaxQueryMs = times.sort((a, b) => a - b)[3] as number;
    const first = lines[0] ?? [];
    return {
      linesPerSample,
      bytesPerSample: first.join("\n").length + 1,
      pointsPerSample: first.reduce((n, l) => n + (l.split(" ")[1]?.split(",").length ?? 0), 0),
      seriesPerPack: series.data.length,
      writeSamplesPerS: samples.length / writeSeconds,
      dayMaxQueryMs,
      dayMaxValue: Number(answer.data.result[0]?.value[1]),
    };
  } finally {
    await vm.stop();
  }
}

/** Both layouts, each on a fresh VictoriaMetrics. */
export async function benchLayout(): Promise<{ legacy: LayoutFigures; current: LayoutFigures }> {
  const legacy = await measure("legacy", legacyLines, (site, pack) => `max(max_over_time(cell_voltage{site="${site}",pack="${pack}"}[1d]))`);
  const current = await measure("current", sampleToLines, (site, pack) => `max_over_time(pack_cell_voltage_max{site="${site}",pack="${pack}"}[1d])`);
  return { legacy, current };
}

export function formatLayoutBench(r: { legacy: LayoutFigures; current: LayoutFigures }): string {
  const row = (label: string, pick: (x: LayoutFigures) => number, digits = 0) =>
    `  ${label.padEnd(36)} ${pick(r.legacy).toFixed(digits)} → ${pick(r.current).toFixed(digits)}`;
  return [
    "time-series layout: one line per cell and per sensor (before) → pack + cells lines (now), a day of 1 Hz samples of one 16-cell pack",
    row("lines per sample", (x) => x.linesPerSample),
    row("bytes per sample", (x) => x.bytesPerSample),
    row("points per sample", (x) => x.pointsPerSample),
    row("series per pack", (x) => x.seriesPerPack),
    row("write into VictoriaMetrics, samples/s", (x) => x.writeSamplesPerS),
    row("max cell voltage over a day, ms", (x) => x.dayMaxQueryMs, 1),
    row("  (its answer, V)", (x) => x.dayMaxValue, 3),
    `json-layout: ${JSON.stringify(r)}`,
    "",
  ].join("\n");
}
