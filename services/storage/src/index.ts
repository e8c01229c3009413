export type { CaseFilter, CaseStore, OpenCaseInput } from "./case-store";
export type { DeadLetter, DeadLetterStore } from "./dead-letter-store";
export type { DurableQueue, QueuedMessage } from "./durable-queue";
