export interface DeadLetter {
  id: number;
  receivedAt: number;
  topic: string;
  /** The payload as received, UTF-8 decoded where it is text, else base64 with a `base64:` prefix. */
  payload: string;
  /** Why it was rejected: one line a person can act on. */
  reason: string;
}

/** Rejected messages, kept for inspection. */
export interface DeadLetterStore {
  add(entry: Omit<DeadLetter, "id">): Promise<void>;
  /** Newest first. @default limit 100 */
  list(limit?: number): Promise<DeadLetter[]>;
  count(): Promise<number>;
  close(): Promise<void>;
}
