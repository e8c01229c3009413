import { CommandRecord, PackSample } from "@bms/shared";
import { z } from "zod";
import { StoreCorruptError, StoreInputError } from "./storage-errors";

// What every CommandStore adapter does the same way: a record is one JSON document (checked on the
// way in, validated on the way out), a capture part a JSON array of samples.

/** A command's row as the adapters read it. */
export interface CommandRow {
  id: string;
  record: string;
}

const Samples = z.array(PackSample);

function parse<T>(schema: z.ZodType<T>, text: string, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new StoreCorruptError(`${what} is not JSON`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new StoreCorruptError(`${what} does not validate: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  return parsed.data;
}

export const commandFromRow = (row: CommandRow): CommandRecord => parse(CommandRecord, row.record, `command ${row.id}`);

export const samplesFromText = (text: string, id: string): PackSample[] => parse(Samples, text, `a part of command ${id}`);

/** A record to write: StoreInputError naming the field when it does not validate. */
export function checkCommand(record: CommandRecord): CommandRecord {
  const parsed = CommandRecord.safeParse(record);
  if (!parsed.success) throw new StoreInputError(`command record: ${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** A capture part to write: StoreInputError when the part number is not a whole number >= 0. */
export function checkPart(part: number): number {
  if (!Number.isSafeInteger(part) || part < 0) throw new StoreInputError(`capture part must be a whole number >= 0, got ${String(part)}`);
  return part;
}

export const takenIdError = (id: string) => new StoreInputError(`a command with id ${id} exists already`);
