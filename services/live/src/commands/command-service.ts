import { randomBytes } from "node:crypto";
import {
  type CaseEvent,
  type CommandMessage,
  type CommandRecord,
  type CommandRequest,
  CommandResultMessage,
  formatIssues,
  type Logger,
  PackParameters,
} from "@bms/shared";
import type { CaseStore, CommandStore } from "@bms/storage";
import { commandMessage, finishedEntry, newCommandRecord, planAccepted, planExpiry, planOutcome, planPublished, planStale, sentEntry } from "./command-policy";

export interface CommandServiceOptions {
  store: CommandStore;
  caseStore: CaseStore;
  /** Publishes on `bms/{siteId}/cmd` (QoS 1). */
  publish(siteId: string, message: CommandMessage): Promise<void>;
  /** socket.io `command` to the pack's watchers. */
  emit(record: CommandRecord): void;
  announceCaseEvent(event: CaseEvent): void;
  log: Logger;
  /** How often pending commands are published again (an agent that was offline gets them) and expired ones marked, ms. @default 5000 */
  republishMs?: number;
}

/** A request the service turns down before anything is sent: 400 (`status` 404 for a case the pack does not have). */
export class CommandRequestError extends Error {
  override readonly name = "CommandRequestError";
  constructor(
    message: string,
    readonly status: 400 | 404 = 400,
  ) {
    super(message);
  }
}

const PENDING_BATCH = 500;

/**
 * The service's end of remote diagnosis: records a command, puts it on the case's timeline,
 * publishes it to the site's agent and again every `republishMs` while it is pending, marks it
 * expired when no agent took it in time, and applies what the agent reports (accepted, capture
 * parts, the outcome) from `bms/{siteId}/cmd/result`, a result of another site's agent ignored.
 */
export class CommandService {
  private readonly parameters = new Map<string, PackParameters>();
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> = Promise.resolve();

  constructor(private readonly options: CommandServiceOptions) {}

  start(): void {
    this.timer ??= setInterval(() => {
      this.sweeping = this.sweep().catch((err: unknown) => this.options.log.warn({ err }, "could not republish pending commands"));
    }, this.options.republishMs ?? 5000);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  /** The pack's writable points as its agent last reported them. */
  packParameters(siteId: string, packId: string): PackParameters | undefined {
    return this.parameters.get(`${siteId}/${packId}`);
  }

  async create(siteId: string, packId: string, request: CommandRequest, requestedBy: string): Promise<CommandRecord> {
    const { store, caseStore } = this.options;
    if (request.caseId !== undefined) {
      const c = await caseStore.get(request.caseId);
      if (!c || c.siteId !== siteId || c.packId !== packId) throw new CommandRequestError(`pack ${siteId}/${packId} has no case ${request.caseId}`, 404);
      if (c.status === "closed") throw new CommandRequestError(`case ${request.caseId} is closed: reopen it, or send the command without a case`);
    }
    if (request.kind === "set-parameter") this.checkParameter(siteId, packId, request.params.name, request.params.value);
    const now = Date.now();
    const record = newCommandRecord(`cmd-${randomBytes(12).toString("base64url")}`, siteId, packId, request, requestedBy, now);
    await store.add(record);
    this.options.log.info({ siteId, packId, id: record.id, kind: record.kind, requestedBy, caseId: record.caseId }, "command requested");
    await this.onCase(record, sentEntry(record), requestedBy);
    this.options.emit(record);
    return (await this.publish(record)) ?? record;
  }

  /** A message on `bms/{siteId}/cmd/result`. */
  async onResult(siteId: string, value: unknown): Promise<void> {
    const { store, log } = this.options;
    const parsed = CommandResultMessage.safeParse(value);
    if (!parsed.success) return void log.warn({ siteId, problems: formatIssues(parsed.error.issues).slice(0, 3) }, "ignored a malformed command result");
    const message = parsed.data;
    const record = await store.get(message.id);
    // Only the pack's own site may answer for it.
    if (!record || record.siteId !== siteId || record.packId !== message.packId) {
      return void log.warn({ siteId, packId: message.packId, id: message.id }, "ignored a result for a command this site was not sent");
    }
    const now = Date.now();
    let changed: CommandRecord | null = null;
    if (message.type === "accepted") changed = await store.update(record.id, (r) => planAccepted(r, now));
    else if (message.type === "part") await store.addPart(record.id, message.part, message.samples);
    else {
      const frame = record.kind === "capture" && message.status === "succeeded" ? await store.samples(record.id) : undefined;
      changed = await store.update(record.id, (r) => planOutcome(r, message, now, frame));
      if (changed) {
        log.info({ siteId, packId: changed.packId, id: changed.id, kind: changed.kind, status: changed.status, error: changed.error }, "command finished");
        await this.onCase(changed, finishedEntry(changed), changed.requestedBy);
      }
    }
    if (changed) this.options.emit(changed);
  }

  /** A retained `bms/{siteId}/{packId}/parameters`. */
  onParameters(siteId: string, packId: string, value: unknown): void {
    const parsed = PackParameters.safeParse(value);
    if (!parsed.success) return void this.options.log.warn({ siteId, packId }, "ignored malformed pack parameters");
    this.parameters.set(`${siteId}/${packId}`, parsed.data);
  }

  /** Publishes pending commands again, expires the ones past their time, fails the ones taken and never finished. */
  async sweep(now = Date.now()): Promise<void> {
    for (const record of await this.options.store.unfinished(PENDING_BATCH)) {
      const ended = await this.options.store.update(record.id, (r) => planExpiry(r, now) ?? planStale(r, now));
      if (ended) {
        this.options.log.warn({ siteId: ended.siteId, packId: ended.packId, id: ended.id, kind: ended.kind, error: ended.error }, `command ${ended.status}`);
        await this.onCase(ended, finishedEntry(ended), ended.requestedBy);
        this.options.emit(ended);
      } else if (record.status === "pending") await this.publish(record);
    }
  }

  private async publish(record: CommandRecord): Promise<CommandRecord | null> {
    const now = Date.now();
    const counted = await this.options.store.update(record.id, (r) => planPublished(r, now));
    if (!counted) return null;
    try {
      await this.options.publish(record.siteId, commandMessage(counted));
    } catch (err) {
      this.options.log.warn(
        { siteId: record.siteId, packId: record.packId, id: record.id, err: (err as Error).message },
        "could not publish a command; retrying",
      );
    }
    return counted;
  }

  private checkParameter(siteId: string, packId: string, name: string, value: number): void {
    const known = this.packParameters(siteId, packId);
    if (!known) return; // the agent checks against its profile
    if (!known.writesEnabled) throw new CommandRequestError(`the agent of site ${siteId} does not change settings (its commands.setParameter is false)`);
    const p = known.parameters.find((x) => x.name === name);
    if (!p)
      throw new CommandRequestError(`pack ${siteId}/${packId} has no writable point ${name} (its points: ${known.parameters.map((x) => x.name).join(", ")})`);
    if (value < p.min || value > p.max)
      throw new CommandRequestError(`${name} must lie within ${p.min}–${p.max}${p.unit ? ` ${p.unit}` : ""}: ${value} is outside`);
  }

  private async onCase(record: CommandRecord, entry: ReturnType<typeof sentEntry>, actor: string): Promise<void> {
    if (!record.caseId) return;
    try {
      const changed = await this.options.caseStore.addCommandEntry(record.caseId, entry, actor, Date.now());
      if (changed) this.options.announceCaseEvent({ type: "updated", case: changed });
    } catch (err) {
      this.options.log.warn({ caseId: record.caseId, id: record.id, err: (err as Error).message }, "could not add the command to its case's timeline");
    }
  }
}
