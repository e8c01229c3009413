import type { PackHistoryPoint } from "@bms/shared";
import { z } from "zod";
import { bucketSizeFor, bucketWindow, downsample, HISTORY_FIELDS, type HistoryField, pointsFromFields } from "./downsampling";
import { type HistoryAnswer, type HistoryRequest, type HistorySource, HistoryUnavailableError } from "./history-source";
import { getJson, getText, type QueryServer } from "./query-http";

const PromAnswer = z.object({
  status: z.string(),
  error: z.string().optional(),
  data: z
    .object({
      result: z.array(
        z.object({
          metric: z.record(z.string(), z.string()),
          value: z.tuple([z.number(), z.string()]).optional(),
          values: z.array(z.tuple([z.number(), z.string()])).optional(),
        }),
      ),
    })
    .optional(),
});

const ExportLine = z.object({ metric: z.record(z.string(), z.string()), values: z.array(z.number().nullable()), timestamps: z.array(z.number()) });

/**
 * VictoriaMetrics hides the newest 30 s from range queries by default (`-search.latencyOffset`)
 * and repeats the last value over them: buckets from this long before now on are read raw
 * (`/api/v1/export`) and aggregated here instead.
 */
export const FRESH_MS = 60_000;

const ROLLUP = { mean: "avg_over_time", min: "min_over_time", max: "max_over_time" } as const;

/** A label value in a PromQL selector (IDs are [A-Za-z0-9_-] already; escaped anyway). */
function quoted(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

export interface VictoriaMetricsHistoryOptions extends QueryServer {
  /** @default Date.now */
  now?: () => number;
}

/**
 * History from VictoriaMetrics' Prometheus query API, where the `pack` line's fields are the series
 * `pack_<field>{site,pack}` (docs/time-series.md). One instant query counts the window's samples
 * (`count_over_time`); a window with at most `maxPoints` is exported as written, a longer one is
 * aggregated per bucket by `avg_over_time`, `min_over_time` and `max_over_time` over range queries
 * whose steps are the buckets (`nocache=1`, so that VictoriaMetrics does not move them).
 */
export class VictoriaMetricsHistory implements HistorySource {
  readonly kind = "victoriametrics" as const;
  private readonly now: () => number;

  constructor(private readonly options: VictoriaMetricsHistoryOptions) {
    this.now = options.now ?? Date.now;
  }

  async read(request: HistoryRequest): Promise<HistoryAnswer> {
    const count = await this.count(request);
    if (count <= request.maxPoints) return { points: await this.exported(request, request.from, request.to), resolutionMs: null };
    const size = bucketSizeFor(request.from, request.to, request.maxPoints);
    const { start, end } = bucketWindow(request.from, request.to, size);
    // Buckets that start before `fresh` come from range queries, the others from raw samples.
    const fresh = Math.min(end, Math.max(start, Math.floor((this.now() - FRESH_MS) / size) * size));
    const [ranged, tail] = await Promise.all([
      fresh > start ? this.ranged(request, start, fresh, size) : Promise.resolve([]),
      fresh < end ? this.exported(request, fresh, end - 1) : Promise.resolve([]),
    ]);
    return { points: [...ranged, ...downsample(tail, size)], resolutionMs: size };
  }

  private selector(request: HistoryRequest, fields: readonly string[]): string {
    return `{__name__=~"pack_(${fields.join("|")})",site=${quoted(request.siteId)},pack=${quoted(request.packId)}}`;
  }

  private async prom(path: string, params: Record<string, string>) {
    const parsed = PromAnswer.safeParse(await getJson(this.options, path, { ...params, nocache: "1" }));
    if (!parsed.success) throw new HistoryUnavailableError(`the answer of ${this.options.url}${path} is not a Prometheus query answer`);
    if (parsed.data.status !== "success") throw new HistoryUnavailableError(`${this.options.url}${path}: ${parsed.data.error ?? parsed.data.status}`);
    return parsed.data.data?.result ?? [];
  }

  private async count(request: HistoryRequest): Promise<number> {
    const series = `pack_soc{site=${quoted(request.siteId)},pack=${quoted(request.packId)}}`;
    const result = await this.prom("/api/v1/query", { query: `count_over_time(${series}[${request.to - request.from + 1}ms])`, time: seconds(request.to) });
    return result.reduce((sum, r) => sum + Number(r.value?.[1] ?? 0), 0);
  }

  /** Per bucket in [start, end), one range query per aggregate; each step's window (t − size, t] is the bucket [t − size + 1, t]. */
  private async ranged(request: HistoryRequest, start: number, end: number, size: number): Promise<PackHistoryPoint[]> {
    const byTs = new Map<number, Partial<Record<HistoryField, number>>>();
    await Promise.all(
      (["mean", "min", "max"] as const).map(async (aggregate) => {
        const fields = HISTORY_FIELDS.filter((f) => f.aggregate === aggregate);
        const query = `${ROLLUP[aggregate]}(${this.selector(
          request,
          fields.map((f) => f.field),
        )}[${size}ms]) keep_metric_names`;
        const result = await this.prom("/api/v1/query_range", { query, start: seconds(start + size - 1), end: seconds(end - 1), step: `${size}ms` });
        for (const series of result) {
          const field = fields.find((f) => `pack_${f.field}` === series.metric.__name__);
          if (!field) continue;
          for (const [t, text] of series.values ?? []) {
            const value = Number(text);
            if (!Number.isFinite(value)) continue;
            const ts = Math.round(t * 1000) - size + 1;
            const point = byTs.get(ts) ?? {};
            point[field.point] = value;
            byTs.set(ts, point);
          }
        }
      }),
    );
    return pointsFromFields(byTs);
  }

  /** The samples with from ≤ ts ≤ to, as written. */
  private async exported(request: HistoryRequest, from: number, to: number): Promise<PackHistoryPoint[]> {
    const match = this.selector(
      request,
      HISTORY_FIELDS.map((f) => f.field),
    );
    // A millisecond before `from`, so that a bound that is exclusive on the server loses nothing; filtered below.
    const text = await getText(this.options, "/api/v1/export", { "match[]": match, start: seconds(from - 1), end: seconds(to) });
    const byTs = new Map<number, Partial<Record<HistoryField, number>>>();
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      let parsed: z.infer<typeof ExportLine>;
      try {
        parsed = ExportLine.parse(JSON.parse(line));
      } catch {
        throw new HistoryUnavailableError(`the export of ${this.options.url} has a line that is not a series: ${line.slice(0, 100)}`);
      }
      const field = HISTORY_FIELDS.find((f) => `pack_${f.field}` === parsed.metric.__name__);
      if (!field) continue;
      parsed.timestamps.forEach((ts, i) => {
        const value = parsed.values[i];
        if (ts < from || ts > to || typeof value !== "number") return;
        const point = byTs.get(ts) ?? {};
        point[field.point] = value;
        byTs.set(ts, point);
      });
    }
    return pointsFromFields(byTs);
  }
}
