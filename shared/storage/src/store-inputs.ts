import type { DeadLetter } from "./dead-letter-store";
import { StoreInputError } from "./storage-errors";
import type { NewWebhookDelivery } from "./webhook-outbox";

// What the dead-letter and webhook stores check before they write, whatever their database.

/** Dead letters `list()` returns when no limit is given. */
export const DEFAULT_DEAD_LETTER_LIST_LIMIT = 100;
/** Largest page a store lists. */
export const MAX_LIST_LIMIT = 10_000;
/** A delivery's last result is kept to this many characters. */
export const MAX_RESULT_CHARS = 1000;

export function positiveInt(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new StoreInputError(`${name} must be a whole number of at least 1, got ${String(value)}`);
  return value;
}

export function checkListLimit(limit: number, what = "limit"): number {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new StoreInputError(`${what} must be a whole number from 1 to ${MAX_LIST_LIMIT}, got ${String(limit)}`);
  }
  return limit;
}

/** How much a DeadLetterStore keeps. */
export interface DeadLetterLimits {
  /** Only the newest this many are kept, so a flood of bad messages cannot fill the disk. @default 100_000 */
  maxEntries?: number;
  /** A longer payload is cut to this many characters (said in the reason). @default 1_048_576 */
  maxPayloadChars?: number;
}

export const DEFAULT_MAX_DEAD_LETTERS = 100_000;
export const DEFAULT_MAX_DEAD_LETTER_PAYLOAD_CHARS = 1_048_576;

export function deadLetterLimits(options: DeadLetterLimits = {}): Required<DeadLetterLimits> {
  return {
    maxEntries: positiveInt(options.maxEntries ?? DEFAULT_MAX_DEAD_LETTERS, "maxEntries"),
    maxPayloadChars: positiveInt(options.maxPayloadChars ?? DEFAULT_MAX_DEAD_LETTER_PAYLOAD_CHARS, "maxPayloadChars"),
  };
}

/** A dead letter checked, its payload cut to `maxPayloadChars` (the reason says so). */
export function deadLetterToStore(entry: Omit<DeadLetter, "id">, maxPayloadChars: number): Omit<DeadLetter, "id"> {
  if (typeof entry?.topic !== "string" || typeof entry.payload !== "string" || typeof entry.reason !== "string") {
    throw new StoreInputError("a dead letter needs a string topic, payload and reason");
  }
  if (!Number.isFinite(entry.receivedAt)) throw new StoreInputError(`receivedAt must be a finite number, got ${String(entry.receivedAt)}`);
  if (entry.payload.length <= maxPayloadChars) return entry;
  return {
    receivedAt: entry.receivedAt,
    topic: entry.topic,
    payload: entry.payload.slice(0, maxPayloadChars),
    reason: `${entry.reason} (payload of ${entry.payload.length} characters cut to the first ${maxPayloadChars})`,
  };
}

export function checkDeliveries(deliveries: readonly NewWebhookDelivery[]): void {
  if (!Array.isArray(deliveries)) throw new StoreInputError("enqueue needs an array of deliveries");
  for (const d of deliveries) {
    if (typeof d?.key !== "string" || d.key === "" || typeof d.url !== "string" || typeof d.body !== "string" || !Number.isFinite(d.createdAt)) {
      throw new StoreInputError("a webhook delivery needs a key, a url, a body and a createdAt time");
    }
  }
}

export function checkCursor(value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new StoreInputError(`cursor must be a whole number >= 0, got ${String(value)}`);
  return value;
}
