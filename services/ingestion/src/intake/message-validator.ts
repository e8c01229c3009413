import { clockAheadReason, compiledCheck, formatIssues, PackMeta, PackSample, parseTopic, SiteStatus } from "@bms/shared";
import type { z } from "zod";
import { nestsDeeperThan } from "./json-depth";

/** Why a message was dead-lettered: the `reason` label of the dead-letter metric. */
export type RejectCategory =
  | "oversized"
  | "unknown_topic"
  | "not_utf8"
  | "too_deep"
  | "malformed_json"
  | "schema"
  | "out_of_range"
  | "clock_ahead"
  | "over_limit"
  | "internal_error";

export type ValidatedMessage =
  | { ok: true; kind: "telemetry"; siteId: string; packId: string; sample: PackSample }
  | { ok: true; kind: "meta"; siteId: string; packId: string; meta: PackMeta }
  | { ok: true; kind: "status"; siteId: string; status: SiteStatus }
  /** Remote-diagnosis traffic under bms/ (commands, their results, a pack's parameters): the live service's, not the ingestion's. */
  | { ok: true; kind: "ignored" }
  | {
      ok: false;
      /** The topic's kind where the topic was understood. */
      kind: "telemetry" | "meta" | "status" | "unknown";
      category: RejectCategory;
      /** One line a person can act on: field path and what was wrong. */
      reason: string;
    };

/** What a message must stay within (IngestionConfig.limits). */
export interface MessageLimits {
  maxPayloadBytes: number;
  /** Nesting of the JSON payload (a sample nests 2 deep). */
  maxJsonDepth: number;
  /** Cell voltages and temperature sensors per sample. */
  maxCellsPerPack: number;
  /** How far a message's ts may be ahead of its arrival, ms. */
  maxClockAheadMs: number;
}

/** Telemetry is most of the traffic: checked by the compiled schema, with zod for the reason of a refusal. */
const acceptsSample = compiledCheck(PackSample);

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Control characters (a parser's quote of the payload may hold newlines) as spaces. */
function oneLine(text: string): string {
  let out = "";
  for (const c of text) out += c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f ? " " : c;
  return out.replace(/ {2,}/g, " ");
}
const MAX_ISSUES_IN_REASON = 3;

function describeIssues(issues: readonly z.core.$ZodIssue[]): { category: RejectCategory; reason: string } {
  const outOfRange = issues.every((i) => i.code === "too_big" || i.code === "too_small");
  const lines = formatIssues(issues.slice(0, MAX_ISSUES_IN_REASON));
  const more = issues.length > MAX_ISSUES_IN_REASON ? ` (+${issues.length - MAX_ISSUES_IN_REASON} more)` : "";
  return {
    category: outOfRange ? "out_of_range" : "schema",
    reason: `${outOfRange ? "out of range" : "schema violation"}: ${lines.join("; ")}${more}`,
  };
}

function parsed<T>(schema: z.ZodType<T>, json: unknown): { ok: true; data: T } | { ok: false; category: RejectCategory; reason: string } {
  const result = schema.safeParse(json, { reportInput: true });
  return result.success ? { ok: true, data: result.data } : { ok: false, ...describeIssues(result.error.issues) };
}

/** Topic, size, encoding, nesting, JSON, schema, clock and limit checks of one MQTT message; never throws. */
export function validateMessage(topic: string, payload: Uint8Array, limits: MessageLimits, arrivedAt: number): ValidatedMessage {
  const topicParts = parseTopic(topic);
  if (topicParts?.kind === "command" || topicParts?.kind === "command-result" || topicParts?.kind === "parameters") return { ok: true, kind: "ignored" };
  const kind = topicParts === null || topicParts.kind === "case" ? "unknown" : topicParts.kind;
  // One line, whatever the parser quoted of the payload.
  const reject = (category: RejectCategory, reason: string): ValidatedMessage => ({
    ok: false,
    kind,
    category,
    reason: oneLine(reason),
  });
  if (payload.byteLength > limits.maxPayloadBytes) {
    return reject("oversized", `payload of ${payload.byteLength} bytes exceeds the limit of ${limits.maxPayloadBytes} bytes`);
  }
  if (topicParts === null || topicParts.kind === "case") {
    return reject("unknown_topic", "unknown topic: expected bms/{siteId}/{packId}/telemetry, bms/{siteId}/{packId}/meta or bms/{siteId}/status");
  }
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    return reject("not_utf8", "payload is not UTF-8 text (expected JSON)");
  }
  if (nestsDeeperThan(text, limits.maxJsonDepth)) return reject("too_deep", `JSON nests deeper than ${limits.maxJsonDepth} levels`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return reject("malformed_json", `malformed JSON: ${(err as Error).message}`);
  }
  switch (topicParts.kind) {
    case "telemetry": {
      let sample: PackSample;
      if (acceptsSample(json)) sample = json;
      else {
        const result = parsed(PackSample, json);
        if (!result.ok) return reject(result.category, result.reason);
        sample = result.data;
      }
      const ahead = clockAheadReason(sample.ts, arrivedAt, limits.maxClockAheadMs);
      if (ahead) return reject("clock_ahead", ahead);
      const most = Math.max(sample.cellVoltages.length, sample.cellTemperatures.length);
      if (most > limits.maxCellsPerPack) {
        return reject(
          "over_limit",
          `${sample.cellVoltages.length} cell voltages and ${sample.cellTemperatures.length} temperatures exceed the limit of ${limits.maxCellsPerPack} per pack (limits.maxCellsPerPack)`,
        );
      }
      return { ok: true, kind: "telemetry", siteId: topicParts.siteId, packId: topicParts.packId, sample };
    }
    case "meta": {
      const result = parsed(PackMeta, json);
      if (!result.ok) return reject(result.category, result.reason);
      const ahead = clockAheadReason(result.data.ts, arrivedAt, limits.maxClockAheadMs);
      if (ahead) return reject("clock_ahead", ahead);
      return { ok: true, kind: "meta", siteId: topicParts.siteId, packId: topicParts.packId, meta: result.data };
    }
    case "status": {
      const result = parsed(SiteStatus, json);
      if (!result.ok) return reject(result.category, result.reason);
      const ahead = clockAheadReason(result.data.ts, arrivedAt, limits.maxClockAheadMs);
      if (ahead) return reject("clock_ahead", ahead);
      return { ok: true, kind: "status", siteId: topicParts.siteId, status: result.data };
    }
  }
}

/** The payload as the dead-letter store keeps it: UTF-8 text, else base64 with a `base64:` prefix. */
export function payloadForDeadLetter(payload: Uint8Array, maxBytes: number): string {
  const kept = payload.byteLength > maxBytes ? payload.subarray(0, maxBytes) : payload;
  try {
    return utf8.decode(kept);
  } catch {
    return `base64:${Buffer.from(kept).toString("base64")}`;
  }
}
