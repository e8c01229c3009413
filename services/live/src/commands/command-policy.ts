import {
  type BmsHistory,
  type CaptureSummary,
  type CommandMessage,
  type CommandOutcomeMessage,
  type CommandRecord,
  type CommandRequest,
  type CommandResults,
  CommandSpec,
  DEFAULT_COMMAND_EXPIRY_S,
  FINAL_COMMAND_STATUSES,
  MAX_CASE_BMS_EVENTS,
  type PackSample,
  type ResetAlarmsResult,
  type SetParameterResult,
} from "@bms/shared";
import { type CommandEntry, captureEvidenceOf } from "@bms/storage";

/**
 * What a command's record does on each event, as pure functions (the store applies them in a
 * transaction): pending → sent (the agent took it) → succeeded | failed | refused; pending →
 * expired when no agent took it in time. A final status never changes again: a late or repeated
 * result is ignored.
 */

export function newCommandRecord(id: string, siteId: string, packId: string, request: CommandRequest, requestedBy: string, now: number): CommandRecord {
  return {
    id,
    kind: request.kind,
    siteId,
    packId,
    params: { ...request.params },
    status: "pending",
    caseId: request.caseId ?? null,
    requestedBy,
    createdAt: now,
    expiresAt: now + (request.expiresInSeconds ?? DEFAULT_COMMAND_EXPIRY_S) * 1000,
    sentAt: null,
    finishedAt: null,
    attempts: 0,
  };
}

/** The message for the site's agent. */
export function commandMessage(r: CommandRecord): CommandMessage {
  const spec = CommandSpec.parse({ kind: r.kind, params: r.params });
  return { v: 1, id: r.id, packId: r.packId, issuedAt: r.createdAt, expiresAt: r.expiresAt, requestedBy: r.requestedBy, ...spec };
}

const isFinal = (r: CommandRecord) => FINAL_COMMAND_STATUSES.has(r.status);

/** Published (again) while pending and not expired. */
export function planPublished(r: CommandRecord, now: number): CommandRecord | null {
  if (r.status !== "pending" || now > r.expiresAt) return null;
  return { ...r, attempts: r.attempts + 1 };
}

export function planAccepted(r: CommandRecord, now: number): CommandRecord | null {
  if (r.status !== "pending") return null;
  return { ...r, status: "sent", sentAt: now };
}

/** A pending command no agent took before its expiry. */
export function planExpiry(r: CommandRecord, now: number): CommandRecord | null {
  if (r.status !== "pending" || now <= r.expiresAt) return null;
  return { ...r, status: "expired", finishedAt: now, error: "no agent took it before its expiry (the site's agent is offline or not subscribed)" };
}

/** How long a taken command may run before the service stops waiting for its outcome (a capture: its seconds on top), ms. */
export const MAX_RUN_MS = 15 * 60_000;

/** A command the agent took but never finished (it crashed or lost its outbox mid-run): failed, not run again. */
export function planStale(r: CommandRecord, now: number): CommandRecord | null {
  if (r.status !== "sent" || r.sentAt === null) return null;
  const capture = r.kind === "capture" ? Number(r.params.seconds ?? 0) * 1000 : 0;
  if (now <= r.sentAt + MAX_RUN_MS + capture) return null;
  return {
    ...r,
    status: "failed",
    finishedAt: now,
    error: `the agent took it but reported no outcome within ${MAX_RUN_MS / 60_000} min (it may have restarted mid-run; it is not run again)`,
  };
}

/** The agent's outcome; a capture's result carries its samples as `frame`. */
export function planOutcome(r: CommandRecord, outcome: CommandOutcomeMessage, now: number, frame?: PackSample[]): CommandRecord | null {
  if (isFinal(r)) return null;
  const next: CommandRecord = { ...r, status: outcome.status, finishedAt: now, sentAt: r.sentAt ?? now };
  if (outcome.status === "succeeded") next.result = r.kind === "capture" ? { ...(outcome.result as CaptureSummary), frame: frame ?? [] } : outcome.result;
  else next.error = outcome.error ?? outcome.status;
  return next;
}

const paramsText = (r: CommandRecord) => {
  if (r.kind === "set-parameter") return ` ${String(r.params.name)} = ${String(r.params.value)}`;
  if (r.kind === "capture") return ` at ${String(r.params.hz)} Hz for ${String(r.params.seconds)} s`;
  return "";
};

/** The case's timeline entry when the command is sent. */
export function sentEntry(r: CommandRecord): CommandEntry {
  return {
    kind: "command",
    commandId: r.id,
    commandStatus: r.status,
    message: `${r.kind}${paramsText(r)} requested (command ${r.id}, expires ${new Date(r.expiresAt).toISOString()})`,
  };
}

function resultText(r: CommandRecord): string {
  switch (r.kind) {
    case "read-event-log": {
      const h = r.result as BmsHistory;
      const counters = Object.entries(h.counters)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ");
      return `${h.events.length} events read (${h.totalEvents ?? "?"} logged in all); counters: ${counters || "none"}`;
    }
    case "reset-alarms": {
      const a = r.result as ResetAlarmsResult;
      return `alarms before: ${a.before.join(", ") || "none"}; after: ${a.after.join(", ") || "none"}`;
    }
    case "set-parameter": {
      const p = r.result as SetParameterResult;
      const unit = p.unit ? ` ${p.unit}` : "";
      return `${p.name}: before ${p.before ?? "?"}${unit}, requested ${p.requested}${unit}, read back ${p.after ?? "?"}${unit}`;
    }
    case "capture": {
      const c = r.result as CaptureSummary;
      return `${c.samples} samples at ${c.hz} Hz over ${Math.round((c.endedAt - c.startedAt) / 100) / 10} s (${c.failedReads} failed reads), kept as the case's second freeze frame`;
    }
  }
}

/** The case's timeline entry when the command ended; an event-log read and a capture also become evidence. */
export function finishedEntry(r: CommandRecord): CommandEntry {
  const head = `${r.kind}${paramsText(r)} ${r.status} (command ${r.id})`;
  const key = { commandId: r.id, commandStatus: r.status };
  if (r.status !== "succeeded") return { kind: "command-result", ...key, message: `${head}: ${r.error ?? ""}` };
  const entry: CommandEntry = { kind: "command-result", ...key, message: `${head}: ${resultText(r)}` };
  if (r.kind === "read-event-log") {
    const h = r.result as BmsHistory;
    entry.bmsHistory = { commandId: r.id, readAt: h.readAt, counters: h.counters, events: h.events.slice(-MAX_CASE_BMS_EVENTS), totalEvents: h.totalEvents };
  }
  if (r.kind === "capture") {
    const c = r.result as CommandResults["capture"];
    entry.capture = captureEvidenceOf(r.id, c, c.frame);
  }
  return entry;
}
