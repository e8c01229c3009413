import { isId } from "./ids";

/**
 * MQTT topics (docs/architecture.md, Contracts). `bms/...` is what edge agents publish; `cases/...` is what the
 * ingestion publishes when a support case opens or changes, for the live feed.
 */
export const TOPIC_FILTERS = {
  /** Everything an edge agent publishes. */
  allBms: "bms/#",
  allTelemetry: "bms/+/+/telemetry",
  allCaseEvents: "cases/#",
} as const;

function checkId(kind: string, value: string): string {
  if (!isId(value)) throw new TypeError(`${kind} ${JSON.stringify(value)} is not a valid ID (1-64 of A-Z a-z 0-9 _ -)`);
  return value;
}

export const topics = {
  telemetry: (siteId: string, packId: string) => `bms/${checkId("siteId", siteId)}/${checkId("packId", packId)}/telemetry`,
  meta: (siteId: string, packId: string) => `bms/${checkId("siteId", siteId)}/${checkId("packId", packId)}/meta`,
  status: (siteId: string) => `bms/${checkId("siteId", siteId)}/status`,
  /** All of one site's topics: what an agent of that site may publish. */
  siteFilter: (siteId: string) => `bms/${checkId("siteId", siteId)}/#`,
  caseEvents: (siteId: string, packId: string) => `cases/${checkId("siteId", siteId)}/${checkId("packId", packId)}`,
};

export type ParsedTopic =
  | { kind: "telemetry"; siteId: string; packId: string }
  | { kind: "meta"; siteId: string; packId: string }
  | { kind: "status"; siteId: string }
  | { kind: "case"; siteId: string; packId: string };

/** Parses one of the topics in docs/architecture.md (Contracts); `null` for anything else (an unknown topic). */
export function parseTopic(topic: string): ParsedTopic | null {
  const parts = topic.split("/");
  if (!parts.slice(1).every(isId)) return null;
  const [root, siteId, packId, leaf] = parts;
  if (siteId === undefined) return null;
  if (root === "bms") {
    if (parts.length === 3 && packId === "status") return { kind: "status", siteId };
    if (parts.length === 4 && packId !== undefined && (leaf === "telemetry" || leaf === "meta")) {
      return { kind: leaf, siteId, packId };
    }
  }
  if (root === "cases" && parts.length === 3 && packId !== undefined) return { kind: "case", siteId, packId };
  return null;
}
