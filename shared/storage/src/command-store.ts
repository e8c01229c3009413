import type { CommandRecord, PackSample } from "@bms/shared";

/**
 * Remote commands as the live service keeps them (docs/remote-diagnosis.md): the record of each,
 * a capture's samples as they come in parts, the pending ones to publish again, a pack's log.
 * Changes are planned by the caller (a pure function of the record) and applied in a transaction.
 */
export interface CommandStore {
  /** A new command; StoreInputError when its ID is taken. */
  add(record: CommandRecord): Promise<void>;
  get(id: string): Promise<CommandRecord | null>;
  /** Reads the record, plans the change, writes it, in one transaction: the record after, or null when unknown or unchanged (`plan` returned null). */
  update(id: string, plan: (record: CommandRecord) => CommandRecord | null): Promise<CommandRecord | null>;
  /** A capture's part; the same (id, part) again is ignored. */
  addPart(id: string, part: number, samples: readonly PackSample[]): Promise<void>;
  /** A capture's samples, in part order. */
  samples(id: string): Promise<PackSample[]>;
  /** Commands not finished yet (pending or sent), oldest first. */
  unfinished(limit: number): Promise<CommandRecord[]>;
  /** A pack's commands, newest first. */
  listForPack(siteId: string, packId: string, limit: number): Promise<CommandRecord[]>;
  close(): Promise<void>;
}
