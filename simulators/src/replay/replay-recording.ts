import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { ConfigError, formatIssues, Id, PackSample } from "@bms/shared";
import type { z } from "zod";

/**
 * A recorded sample stream to play back: JSONL of pack samples (one JSON object a line, optionally
 * with siteId/packId) or CSV (a header row naming ts, packVoltage, current, soc, cv0…cvN, t0…tN,
 * optionally soh, siteId, packId). Rows of one siteId/packId form one stream; streams play as
 * unit IDs 1, 2, … in the order they first appear.
 */

export const RecordedSample = PackSample.extend({ siteId: Id.optional(), packId: Id.optional() });
export type RecordedSample = z.infer<typeof RecordedSample>;

export interface ReplayStream {
  siteId?: string;
  packId?: string;
  /** Sorted by ts. */
  samples: RecordedSample[];
}

export interface ReplayRecording {
  source: string;
  streams: ReplayStream[];
  /** ts of the earliest sample: recording time 0. */
  startTs: number;
}

/** Problems reported at most (a file of bad rows does not print a million lines). */
const MAX_PROBLEMS = 20;
/** Largest recording read, bytes. */
export const MAX_RECORDING_BYTES = 256 * 1024 * 1024;

class ProblemList {
  readonly lines: string[] = [];
  private more = 0;
  add(line: string): void {
    if (this.lines.length < MAX_PROBLEMS) this.lines.push(line);
    else this.more++;
  }
  get all(): string[] {
    return this.more > 0 ? [...this.lines, `… and ${this.more} more problems`] : this.lines;
  }
}

function check(input: unknown, line: number, problems: ProblemList): RecordedSample | undefined {
  const result = RecordedSample.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  for (const issue of formatIssues(result.error.issues)) problems.add(`line ${line}: ${issue}`);
  return undefined;
}

function parseJsonl(text: string, problems: ProblemList): RecordedSample[] {
  const samples: RecordedSample[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      problems.add(`line ${i + 1}: not valid JSON: ${(err as Error).message}`);
      return;
    }
    const sample = check(value, i + 1, problems);
    if (sample) samples.push(sample);
  });
  return samples;
}

const REQUIRED_COLUMNS = ["ts", "packVoltage", "current", "soc"] as const;
const NUMBER = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

/** Columns cv0, cv1, … (or t0, …) must run from 0 without gaps: their positions in the row. */
function indexedColumns(header: readonly string[], prefix: string, problems: ProblemList): number[] {
  const found = new Map<number, number>();
  header.forEach((name, col) => {
    const match = new RegExp(`^${prefix}(\\d+)$`).exec(name);
    if (match) found.set(Number(match[1]), col);
  });
  const columns: number[] = [];
  for (let i = 0; i < found.size; i++) {
    const col = found.get(i);
    if (col === undefined) {
      problems.add(`line 1: columns ${prefix}0…${prefix}${found.size - 1} must all be there, ${prefix}${i} is missing`);
      return [];
    }
    columns.push(col);
  }
  return columns;
}

function parseCsv(text: string, problems: ProblemList): RecordedSample[] {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? "").split(",").map((name) => name.trim());
  for (const name of REQUIRED_COLUMNS)
    if (!header.includes(name)) problems.add(`line 1: the header has no ${name} column (it needs ${REQUIRED_COLUMNS.join(", ")}, cv0…cvN, t0…tN)`);
  const cv = indexedColumns(header, "cv", problems);
  const temps = indexedColumns(header, "t", problems);
  if (cv.length === 0 && !header.some((name) => /^cv\d+$/.test(name))) problems.add("line 1: the header has no cell voltage columns cv0…cvN");
  if (problems.lines.length > 0) return [];
  const col = (name: string) => header.indexOf(name);
  const samples: RecordedSample[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? "";
    if (line.trim() === "") continue;
    const cells = line.split(",").map((cell) => cell.trim());
    if (cells.length !== header.length) {
      problems.add(`line ${i + 1}: ${cells.length} fields, the header has ${header.length}`);
      continue;
    }
    const num = (c: number): number | string => {
      const cell = cells[c] ?? "";
      return NUMBER.test(cell) ? Number(cell) : cell; // a non-number reaches the schema, which names it
    };
    const optional = (name: string): Record<string, unknown> => {
      const c = col(name);
      if (c < 0 || cells[c] === "") return {};
      return { [name]: name === "siteId" || name === "packId" ? cells[c] : num(c) };
    };
    const sample = check(
      {
        v: 1,
        seq: i - 1,
        ts: num(col("ts")),
        packVoltage: num(col("packVoltage")),
        current: num(col("current")),
        soc: num(col("soc")),
        cellVoltages: cv.map(num),
        cellTemperatures: temps.map(num),
        ...optional("soh"),
        ...optional("siteId"),
        ...optional("packId"),
      },
      i + 1,
      problems,
    );
    if (sample) samples.push(sample);
  }
  return samples;
}

/** Parses a recording's text; every bad row is one line of the ConfigError (up to 20), naming its line. */
export function parseRecording(text: string, format: "jsonl" | "csv", source = "recording"): ReplayRecording {
  const problems = new ProblemList();
  const samples = format === "csv" ? parseCsv(text, problems) : parseJsonl(text, problems);
  if (problems.lines.length === 0 && samples.length === 0) problems.add("the recording has no samples");
  if (problems.lines.length > 0) throw new ConfigError(source, problems.all);
  const streams = new Map<string, ReplayStream>();
  for (const sample of samples) {
    const key = `${sample.siteId ?? ""}/${sample.packId ?? ""}`;
    let stream = streams.get(key);
    if (!stream) {
      stream = { ...(sample.siteId ? { siteId: sample.siteId } : {}), ...(sample.packId ? { packId: sample.packId } : {}), samples: [] };
      streams.set(key, stream);
    }
    stream.samples.push(sample);
  }
  if (streams.size > 247) throw new ConfigError(source, [`${streams.size} packs: at most 247 unit IDs can be played`]);
  for (const stream of streams.values()) stream.samples.sort((a, b) => a.ts - b.ts);
  const startTs = Math.min(...samples.map((s) => s.ts));
  return { source, streams: [...streams.values()], startTs };
}

/** Reads a `.jsonl`/`.ndjson` or `.csv` recording. A missing file or bad rows are a ConfigError. */
export function readRecording(file: string): ReplayRecording {
  const ext = extname(file).toLowerCase();
  const format = ext === ".csv" ? "csv" : ext === ".jsonl" || ext === ".ndjson" || ext === ".json" ? "jsonl" : undefined;
  if (!format) throw new ConfigError(file, [`--replay: expected a .jsonl or .csv file, got ${JSON.stringify(ext || file)}`]);
  let text: string;
  try {
    const buffer = readFileSync(file);
    if (buffer.length > MAX_RECORDING_BYTES) throw new Error(`${buffer.length} bytes is more than the ${MAX_RECORDING_BYTES} a replay reads`);
    text = buffer.toString("utf8");
  } catch (err) {
    throw new ConfigError(file, [`cannot read the recording: ${(err as Error).message}`]);
  }
  return parseRecording(text, format, file);
}
