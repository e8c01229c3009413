import { z } from "zod";
import { bucketSizeFor, bucketWindow, HISTORY_FIELDS, type HistoryField, pointsFromFields } from "./downsampling";
import { type HistoryAnswer, type HistoryRequest, type HistorySource, HistoryUnavailableError } from "./history-source";
import { getJson, type QueryServer } from "./query-http";

/** InfluxQL's JSON answer (`/query?epoch=ms`): a result per statement, a series per measurement. */
const InfluxQlAnswer = z.object({
  results: z
    .array(
      z.object({
        error: z.string().optional(),
        series: z
          .array(
            z.object({
              name: z.string().optional(),
              columns: z.array(z.string()),
              values: z.array(z.array(z.union([z.number(), z.string(), z.boolean(), z.null()]))),
            }),
          )
          .optional(),
      }),
    )
    .default([]),
  error: z.string().optional(),
});

/** A string literal in InfluxQL (IDs are [A-Za-z0-9_-] already; escaped anyway). */
function literal(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

export interface InfluxQlHistoryOptions extends QueryServer {
  /** The database InfluxQL names: the bucket (InfluxDB 2 maps each bucket to a database of its name), or the 1.x / 3.x database. */
  database: string;
}

/**
 * History over InfluxQL (`GET /query`): InfluxDB 1.8+, 2.x (a DBRP mapping; 2.x makes a virtual one
 * per bucket, named as the bucket), 3.x (its v1 query API). One query reads the window's samples
 * as they are, up to one more than `maxPoints`; a window with more is read again aggregated by
 * `GROUP BY time(…)` (downsampling.ts says how).
 */
export class InfluxQlHistory implements HistorySource {
  readonly kind = "influxql" as const;

  constructor(private readonly options: InfluxQlHistoryOptions) {}

  async read(request: HistoryRequest): Promise<HistoryAnswer> {
    const where = `WHERE site = ${literal(request.siteId)} AND pack = ${literal(request.packId)}`;
    const raw = HISTORY_FIELDS.map((f) => f.field).join(", ");
    const rawPoints = await this.select(
      `SELECT ${raw} FROM pack ${where} AND time >= ${request.from}ms AND time <= ${request.to}ms ORDER BY time ASC LIMIT ${request.maxPoints + 1}`,
    );
    if (rawPoints.length <= request.maxPoints) return { points: rawPoints, resolutionMs: null };
    const size = bucketSizeFor(request.from, request.to, request.maxPoints);
    const { start, end } = bucketWindow(request.from, request.to, size);
    const aggregates = HISTORY_FIELDS.map((f) => `${f.aggregate}(${f.field}) AS ${f.field}`).join(", ");
    const points = await this.select(`SELECT ${aggregates} FROM pack ${where} AND time >= ${start}ms AND time < ${end}ms GROUP BY time(${size}ms) fill(none)`);
    return { points, resolutionMs: size };
  }

  private async select(influxql: string) {
    const body = await getJson(this.options, "/query", { db: this.options.database, q: influxql, epoch: "ms" });
    const parsed = InfluxQlAnswer.safeParse(body);
    if (!parsed.success)
      throw new HistoryUnavailableError(`the InfluxQL answer of ${this.options.url} is not what /query answers: ${parsed.error.issues[0]?.message}`);
    const result = parsed.data.results[0];
    const error = parsed.data.error ?? result?.error;
    if (error !== undefined) throw new HistoryUnavailableError(`InfluxQL on ${this.options.url} (database ${this.options.database}): ${error}`);
    const byTs = new Map<number, Partial<Record<HistoryField, number>>>();
    for (const series of result?.series ?? []) {
      // VictoriaMetrics' /query, for one, answers every statement with its database list.
      if (series.name !== "pack") {
        throw new HistoryUnavailableError(
          `${this.options.url}/query answered a series "${series.name}" to a SELECT FROM pack: not an InfluxQL server (for VictoriaMetrics, HISTORY_QUERY_API=victoriametrics)`,
        );
      }
      const columns = series.columns.map((name) => HISTORY_FIELDS.find((f) => f.field === name)?.point);
      const timeColumn = series.columns.indexOf("time");
      for (const row of series.values) {
        const ts = row[timeColumn];
        if (typeof ts !== "number") continue;
        const point = byTs.get(ts) ?? {};
        row.forEach((value, i) => {
          const name = columns[i];
          if (name !== undefined && typeof value === "number") point[name] = value;
        });
        byTs.set(ts, point);
      }
    }
    return pointsFromFields(byTs);
  }
}
