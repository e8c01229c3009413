import { formatIssues, PackMeta, PackSample, parseTopic, SiteStatus } from "@bms/shared";
import type { z } from "zod";

/** Why a message was dead-lettered: the `reason` label of the dead-letter metric. */
export type RejectCategory = "oversized" | "unknown_topic" | "not_utf8" | "malformed_json" | "schema" | "out_of_range";

export type ValidatedMessage =
  | { ok: true; kind: "telemetry"; siteId: string; packId: string; sample: PackSample }
  | { ok: true; kind: "meta"; siteId: string; packId: string; meta: PackMeta }
  | { ok: true; kind: "status"; siteId: string; status: SiteStatus }
  | {
      ok: false;
      /** The topic's kind where the topic was understood. */
      kind: "telemetry" | "meta" | "status" | "unknown";
      category: RejectCategory;
      /** One line a person can act on: field path and what was wrong. */
      reason: string;
    };

const utf8 = new TextDecoder("utf-8", { fatal: true });
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

/** Topic, size, encoding, JSON and schema checks of one MQTT message; never throws. */
export function validateMessage(topic: string, payload: Uint8Array, maxPayloadBytes: number): ValidatedMessage {
  const parsed = parseTopic(topic);
  const kind = parsed === null || parsed.kind === "case" ? "unknown" : parsed.kind;
  if (payload.byteLength > maxPayloadBytes) {
    return { ok: false, kind, category: "oversized", reason: `payload of ${payload.byteLength} bytes exceeds the limit of ${maxPayloadBytes} bytes` };
  }
  if (parsed === null || parsed.kind === "case") {
    return {
      ok: false,
      kind,
      category: "unknown_topic",
      reason: `unknown topic: expected bms/{siteId}/{packId}/telemetry, bms/{siteId}/{packId}/meta or bms/{siteId}/status`,
    };
  }
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    return { ok: false, kind, category: "not_utf8", reason: "payload is not UTF-8 text (expected JSON)" };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, kind, category: "malformed_json", reason: `malformed JSON: ${(err as Error).message}` };
  }
  switch (parsed.kind) {
    case "telemetry": {
      const result = PackSample.safeParse(json, { reportInput: true });
      if (!result.success) return { ok: false, kind, ...describeIssues(result.error.issues) };
      return { ok: true, kind: "telemetry", siteId: parsed.siteId, packId: parsed.packId, sample: result.data };
    }
    case "meta": {
      const result = PackMeta.safeParse(json, { reportInput: true });
      if (!result.success) return { ok: false, kind, ...describeIssues(result.error.issues) };
      return { ok: true, kind: "meta", siteId: parsed.siteId, packId: parsed.packId, meta: result.data };
    }
    case "status": {
      const result = SiteStatus.safeParse(json, { reportInput: true });
      if (!result.success) return { ok: false, kind, ...describeIssues(result.error.issues) };
      return { ok: true, kind: "status", siteId: parsed.siteId, status: result.data };
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
