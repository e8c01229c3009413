import {
  type CommandMessage,
  CommandMessage as CommandMessageSchema,
  type CommandOutcomeMessage,
  type CommandResultMessage,
  formatIssues,
  type Logger,
} from "@bms/shared";
import type { AgentCommandsConfig } from "@bms/shared/config/edge-agent-config";
import { capture, type KindContext, readEventLog, resetAlarms, setParameter } from "./command-kinds";
import { CommandRefusal } from "./command-refusal";
import type { DiagnosticDevice } from "./diagnostic-device";

/** Where the inbox keeps the IDs it has taken, so that a redelivery after a restart is not run again. */
export interface SeenStore {
  getState(key: string): string | undefined;
  setState(key: string, value: string): void;
}

export interface CommandInboxOptions {
  siteId: string;
  config: AgentCommandsConfig;
  devices: ReadonlyMap<string, DiagnosticDevice>;
  seen: SeenStore;
  /** Hands a result to the durable outbox (`bms/{siteId}/cmd/result`). */
  publish(message: CommandResultMessage): void;
  /** Republishes a pack's writable points (after set-parameter). */
  parametersChanged(packId: string): void;
  log: Logger;
  /** @default Date.now */
  now?: () => number;
}

const SEEN_KEY = "commands-seen";
/** IDs remembered at most; the oldest go first (their commands expired long ago). */
const MAX_SEEN = 10_000;
/** An ID is remembered this long after its expiry: a copy arriving later is expired anyway. */
const SEEN_GRACE_MS = 86_400_000;

/**
 * The agent's end of remote diagnosis: takes commands from `bms/{siteId}/cmd`, runs each ID at
 * most once (the IDs taken are persisted before anything runs: a broker redelivery or the
 * service's republish of a pending command is dropped), refuses one that arrives after its expiry,
 * runs one command per pack at a time, and publishes `accepted`, capture parts and the outcome
 * through the durable outbox.
 */
export class CommandInbox {
  private readonly seen: Map<string, number>;
  private readonly queues = new Map<string, Promise<void>>();
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly options: CommandInboxOptions) {
    this.now = options.now ?? Date.now;
    this.seen = new Map(parseSeen(options.seen.getState(SEEN_KEY)));
  }

  /** One message from the command topic; malformed ones are logged and dropped. */
  handle(payload: Buffer): void {
    const { siteId, log } = this.options;
    let json: unknown;
    try {
      json = JSON.parse(payload.toString("utf8"));
    } catch {
      log.warn({ siteId, bytes: payload.length }, "ignored a command that is not JSON");
      return;
    }
    const parsed = CommandMessageSchema.safeParse(json);
    if (!parsed.success) {
      const id = typeof (json as { id?: unknown })?.id === "string" ? String((json as { id: string }).id).slice(0, 64) : undefined;
      log.warn({ siteId, id, problems: formatIssues(parsed.error.issues).slice(0, 5) }, "ignored a malformed command");
      return;
    }
    this.take(parsed.data);
  }

  /** Waits for the commands running now; captures end early. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.queues.values());
  }

  private take(command: CommandMessage): void {
    const { siteId, log } = this.options;
    if (this.seen.has(command.id)) {
      log.info({ siteId, packId: command.packId, id: command.id, kind: command.kind }, "command seen before: not run again");
      return;
    }
    this.remember(command);
    const now = this.now();
    const fields = { siteId, packId: command.packId, id: command.id, kind: command.kind, requestedBy: command.requestedBy };
    if (now > command.expiresAt) {
      log.warn({ ...fields, lateMs: now - command.expiresAt }, "command arrived after its expiry: not run");
      this.outcome(command, "expired", `it reached the agent ${Math.round((now - command.expiresAt) / 1000)} s after its expiry`);
      return;
    }
    const device = this.options.devices.get(command.packId);
    if (!device) {
      this.outcome(command, "refused", `this site's agent reads no pack ${command.packId}`);
      return;
    }
    const previous = this.queues.get(command.packId) ?? Promise.resolve();
    const run = previous.then(() => this.run(command, device));
    this.queues.set(command.packId, run);
    void run.finally(() => {
      if (this.queues.get(command.packId) === run) this.queues.delete(command.packId);
    });
  }

  private async run(command: CommandMessage, device: DiagnosticDevice): Promise<void> {
    const { siteId, log, config } = this.options;
    const fields = { siteId, packId: command.packId, id: command.id, kind: command.kind, requestedBy: command.requestedBy };
    // Queued behind another command of the pack: the expiry still holds when its turn comes.
    if (this.now() > command.expiresAt) return this.outcome(command, "expired", "it expired while the pack's previous command ran");
    this.options.publish({ v: 1, type: "accepted", id: command.id, packId: command.packId, ts: this.now() });
    log.info(fields, "running a command");
    const ctx: KindContext = {
      device,
      config,
      emitPart: (part, samples) => this.options.publish({ v: 1, type: "part", id: command.id, packId: command.packId, ts: this.now(), part, samples }),
      stopping: () => this.stopped,
      parametersChanged: () => this.options.parametersChanged(command.packId),
    };
    try {
      const result = await runKind(command, ctx);
      this.options.publish({ v: 1, type: "outcome", id: command.id, packId: command.packId, ts: this.now(), status: "succeeded", result });
      log.info(fields, "command succeeded");
    } catch (err) {
      const message = (err instanceof Error ? err.message : String(err)).slice(0, 2000) || "failed";
      if (err instanceof CommandRefusal) {
        log.warn({ ...fields, reason: message }, "command refused");
        this.outcome(command, "refused", message);
      } else {
        log.warn({ ...fields, err: message }, "command failed");
        this.outcome(command, "failed", message);
      }
    }
  }

  private outcome(command: CommandMessage, status: Exclude<CommandOutcomeMessage["status"], "succeeded">, error: string): void {
    this.options.publish({ v: 1, type: "outcome", id: command.id, packId: command.packId, ts: this.now(), status, error });
  }

  /** Persisted before the command runs: after a crash mid-run it is not run again (at most once). */
  private remember(command: CommandMessage): void {
    const now = this.now();
    this.seen.set(command.id, command.expiresAt);
    for (const [id, expiresAt] of this.seen) {
      if (this.seen.size <= MAX_SEEN && expiresAt + SEEN_GRACE_MS > now) break;
      this.seen.delete(id);
    }
    this.options.seen.setState(SEEN_KEY, JSON.stringify([...this.seen]));
  }
}

function runKind(command: CommandMessage, ctx: KindContext) {
  switch (command.kind) {
    case "read-event-log":
      return readEventLog(ctx);
    case "reset-alarms":
      return resetAlarms(ctx);
    case "set-parameter":
      return setParameter(ctx, command.params);
    case "capture":
      return capture(ctx, command.params);
  }
}

function parseSeen(stored: string | undefined): [string, number][] {
  if (!stored) return [];
  try {
    const entries: unknown = JSON.parse(stored);
    if (!Array.isArray(entries)) return [];
    return entries.filter((e): e is [string, number] => Array.isArray(e) && typeof e[0] === "string" && typeof e[1] === "number");
  } catch {
    return [];
  }
}
