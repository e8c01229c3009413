import { z } from "zod";
import { EngineerName, type EngineerRole } from "./access";
import { BmsAlarmCode } from "./bms-alarms";
import { BmsHistory } from "./bms-history";
import { Id } from "./ids";
import { EpochMs, PackSample } from "./pack-sample";

/**
 * Remote diagnosis: commands an engineer sends a pack through its site's agent, and what comes
 * back (docs/remote-diagnosis.md). The service records a command, publishes it on
 * `bms/{siteId}/cmd` with an ID and an expiry; the agent runs it at most once per ID and publishes
 * its progress and outcome on `bms/{siteId}/cmd/result`.
 */

/** A command's ID: unique, URL- and topic-safe. */
export const CommandId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, "a command ID of 8-64 letters, digits, '_' or '-'");

export const CommandKind = z.enum(["read-event-log", "reset-alarms", "set-parameter", "capture"]);
export type CommandKind = z.infer<typeof CommandKind>;

/**
 * `pending`: recorded, not yet taken by the agent (or the agent is offline); `sent`: the agent took
 * it and runs it; then one of `succeeded`, `failed` (the device or the agent could not),
 * `expired` (it did not reach the agent in time), `refused` (not allowed or not valid there:
 * nothing was done).
 */
export const CommandStatus = z.enum(["pending", "sent", "succeeded", "failed", "expired", "refused"]);
export type CommandStatus = z.infer<typeof CommandStatus>;
export const FINAL_COMMAND_STATUSES: ReadonlySet<CommandStatus> = new Set(["succeeded", "failed", "expired", "refused"]);

/** A writable point's name, as a device profile declares it. */
export const ParameterName = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, "a name of 1-64 letters, digits, '_' or '-', starting with a letter");

/** The highest capture rate and the longest capture the service accepts (an agent may allow less). */
export const MAX_CAPTURE_HZ = 10;
export const MAX_CAPTURE_SECONDS = 120;

const NoParams = z.object({}).strict();
export const SetParameterParams = z.object({ name: ParameterName, value: z.number().finite() }).strict();
export type SetParameterParams = z.infer<typeof SetParameterParams>;
export const CaptureParams = z
  .object({
    /** Samples per second, 0.1–10. */
    hz: z.number().min(0.1).max(MAX_CAPTURE_HZ),
    /** How long, 1–120 s. */
    seconds: z.number().min(1).max(MAX_CAPTURE_SECONDS),
  })
  .strict();
export type CaptureParams = z.infer<typeof CaptureParams>;

/** One kind: its parameters, the least role that may send it, and whether it changes the BMS. */
interface KindRule {
  role: EngineerRole;
  /** It writes to the BMS (the agent's config may forbid it). */
  writes: boolean;
}

export const COMMAND_KIND_RULES: Readonly<Record<CommandKind, KindRule>> = {
  "read-event-log": { role: "engineer", writes: false },
  "reset-alarms": { role: "engineer", writes: true },
  "set-parameter": { role: "admin", writes: true },
  capture: { role: "engineer", writes: false },
};

/** A command's kind with its parameters. */
export const CommandSpec = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("read-event-log"), params: NoParams.default({}) }),
  z.object({ kind: z.literal("reset-alarms"), params: NoParams.default({}) }),
  z.object({ kind: z.literal("set-parameter"), params: SetParameterParams }),
  z.object({ kind: z.literal("capture"), params: CaptureParams }),
]);
export type CommandSpec = z.infer<typeof CommandSpec>;

/** How long a command may wait for its agent by default, and at most, s. */
export const DEFAULT_COMMAND_EXPIRY_S = 300;
export const MAX_COMMAND_EXPIRY_S = 86_400;

const RequestFields = {
  /** The support case the command serves: its timeline records it. */
  caseId: Id.optional(),
  /** How long the command may wait for the agent, s. @default 300 */
  expiresInSeconds: z.number().int().min(5).max(MAX_COMMAND_EXPIRY_S).optional(),
};

/** `POST /api/packs/:siteId/:packId/commands`. */
export const CommandRequest = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("read-event-log"), params: NoParams.default({}), ...RequestFields }).strict(),
  z.object({ kind: z.literal("reset-alarms"), params: NoParams.default({}), ...RequestFields }).strict(),
  z.object({ kind: z.literal("set-parameter"), params: SetParameterParams, ...RequestFields }).strict(),
  z.object({ kind: z.literal("capture"), params: CaptureParams, ...RequestFields }).strict(),
]);
export type CommandRequest = z.infer<typeof CommandRequest>;

/** Service → agent on `bms/{siteId}/cmd` (QoS 1, not retained). */
export const CommandMessage = z
  .object({
    v: z.literal(1),
    id: CommandId,
    packId: Id,
    issuedAt: EpochMs,
    /** The agent must not start it after this time (its own clock). */
    expiresAt: EpochMs,
    /** Who asked, for the agent's log. */
    requestedBy: EngineerName,
  })
  .and(CommandSpec);
export type CommandMessage = z.infer<typeof CommandMessage>;

/** reset-alarms: the alarms read before the reset, and read back after it. */
export const ResetAlarmsResult = z.object({
  before: z.array(BmsAlarmCode).max(64),
  after: z.array(BmsAlarmCode).max(64),
  /** In `before`, not in `after`. */
  cleared: z.array(BmsAlarmCode).max(64),
});
export type ResetAlarmsResult = z.infer<typeof ResetAlarmsResult>;

/** set-parameter: the value read before the write, the one requested, and the one read back. */
export const SetParameterResult = z.object({
  name: ParameterName,
  unit: z.string().max(16).nullable(),
  before: z.number().nullable(),
  requested: z.number(),
  after: z.number().nullable(),
});
export type SetParameterResult = z.infer<typeof SetParameterResult>;

/** capture: what was recorded; the samples themselves come in parts. */
export const CaptureSummary = z.object({
  hz: z.number(),
  seconds: z.number(),
  startedAt: EpochMs,
  endedAt: EpochMs,
  /** Samples taken (in the parts). */
  samples: z.number().int().min(0),
  /** Parts the samples came in (numbered from 0). */
  parts: z.number().int().min(0),
  /** Reads that failed or did not validate (a busy line keeps the rate below `hz`). */
  failedReads: z.number().int().min(0),
});
export type CaptureSummary = z.infer<typeof CaptureSummary>;

/** Samples of a capture: ts as read, seq numbered within the capture. */
export const MAX_CAPTURE_PART_SAMPLES = 50;

/** Agent → service on `bms/{siteId}/cmd/result` (QoS 1, through the agent's durable outbox). */
export const CommandResultMessage = z.discriminatedUnion("type", [
  /** The agent took the command and runs it. */
  z.object({ v: z.literal(1), type: z.literal("accepted"), id: CommandId, packId: Id, ts: EpochMs }).strict(),
  /** Some of a capture's samples. */
  z
    .object({
      v: z.literal(1),
      type: z.literal("part"),
      id: CommandId,
      packId: Id,
      ts: EpochMs,
      part: z.number().int().min(0).max(9_999),
      samples: z.array(PackSample).min(1).max(MAX_CAPTURE_PART_SAMPLES),
    })
    .strict(),
  z
    .object({
      v: z.literal(1),
      type: z.literal("outcome"),
      id: CommandId,
      packId: Id,
      ts: EpochMs,
      status: z.enum(["succeeded", "failed", "expired", "refused"]),
      /** With `succeeded`: the kind's result. */
      result: z.union([BmsHistory, ResetAlarmsResult, SetParameterResult, CaptureSummary]).optional(),
      /** Otherwise: why, in words a person can act on. */
      error: z.string().min(1).max(2000).optional(),
    })
    .strict()
    .refine((o) => (o.status === "succeeded") === (o.result !== undefined) && (o.status === "succeeded") === (o.error === undefined), {
      message: "succeeded carries a result; failed, expired and refused carry an error",
    }),
]);
export type CommandResultMessage = z.infer<typeof CommandResultMessage>;
export type CommandOutcomeMessage = Extract<CommandResultMessage, { type: "outcome" }>;

/** What a command of each kind returns when it succeeded. */
export interface CommandResults {
  "read-event-log": BmsHistory;
  "reset-alarms": ResetAlarmsResult;
  "set-parameter": SetParameterResult;
  capture: CaptureSummary & { frame: PackSample[] };
}

/** A command as the service keeps it: `GET /api/commands/:id`, the per-pack log, socket.io `command`. */
export const CommandRecord = z.object({
  id: CommandId,
  kind: CommandKind,
  siteId: Id,
  packId: Id,
  params: z.record(z.string(), z.unknown()),
  status: CommandStatus,
  caseId: Id.nullable(),
  requestedBy: EngineerName,
  createdAt: EpochMs,
  expiresAt: EpochMs,
  /** When the agent took it. */
  sentAt: EpochMs.nullable(),
  finishedAt: EpochMs.nullable(),
  /** Times the service published it (it publishes again while it is pending). */
  attempts: z.number().int().min(0),
  /** The kind's result (capture: the summary and the samples as `frame`). */
  result: z.unknown().optional(),
  error: z.string().optional(),
});
export type CommandRecord = z.infer<typeof CommandRecord>;

/** One writable point of a pack, as the agent read it. */
export const ParameterReport = z.object({
  name: ParameterName,
  description: z.string().max(200).nullable(),
  unit: z.string().max(16).nullable(),
  min: z.number(),
  max: z.number(),
  /** The value read from the device; null when the read failed (`error` says why). */
  value: z.number().nullable(),
  error: z.string().max(500).optional(),
});
export type ParameterReport = z.infer<typeof ParameterReport>;

/** Retained on `bms/{siteId}/{packId}/parameters`: the pack's writable points, read when the agent first reads it and after every write. */
export const PackParameters = z.object({
  v: z.literal(1),
  ts: EpochMs,
  /** The site's agent runs set-parameter (its config's `commands.setParameter`). */
  writesEnabled: z.boolean(),
  parameters: z.array(ParameterReport).max(256),
});
export type PackParameters = z.infer<typeof PackParameters>;
