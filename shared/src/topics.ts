import { isId } from "./ids";

/**
 * MQTT topics (docs/architecture.md, Contracts). `bms/...` is what edge agents publish, and the
 * commands the live service sends them (`bms/{siteId}/cmd`); `cases/...` is what the ingestion
 * publishes when a support case opens or changes, for the live feed.
 */
export const TOPIC_FILTERS = {
  /** Everything an edge agent publishes. */
  allBms: "bms/#",
  allTelemetry: "bms/+/+/telemetry",
  allCaseEvents: "cases/#",
  /** Every site's command results. */
  allCommandResults: "bms/+/cmd/result",
  /** Every pack's writable points (retained). */
  allParameters: "bms/+/+/parameters",
} as const;

/** The level of `bms/{siteId}/cmd`: a pack cannot be called this (its topics would be a command's). */
export const COMMAND_LEVEL = "cmd";

function checkId(kind: string, value: string): string {
  if (!isId(value)) throw new TypeError(`${kind} ${JSON.stringify(value)} is not a valid ID (1-64 of A-Z a-z 0-9 _ -)`);
  return value;
}

export const topics = {
  telemetry: (siteId: string, packId: string) => `bms/${checkId("siteId", siteId)}/${checkId("packId", packId)}/telemetry`,
  meta: (siteId: string, packId: string) => `bms/${checkId("siteId", siteId)}/${checkId("packId", packId)}/meta`,
  status: (siteId: string) => `bms/${checkId("siteId", siteId)}/status`,
  /** Commands to the site's agent (only the live service's account may publish them). */
  commands: (siteId: string) => `bms/${checkId("siteId", siteId)}/${COMMAND_LEVEL}`,
  /** The agent's progress and outcomes of commands. */
  commandResults: (siteId: string) => `bms/${checkId("siteId", siteId)}/${COMMAND_LEVEL}/result`,
  /** A pack's writable points, retained. */
  parameters: (siteId: string, packId: string) => `bms/${checkId("siteId", siteId)}/${checkId("packId", packId)}/parameters`,
  /** All of one site's topics: what an agent of that site may publish. */
  siteFilter: (siteId: string) => `bms/${checkId("siteId", siteId)}/#`,
  caseEvents: (siteId: string, packId: string) => `cases/${checkId("siteId", siteId)}/${checkId("packId", packId)}`,
};

export type ParsedTopic =
  | { kind: "telemetry"; siteId: string; packId: string }
  | { kind: "meta"; siteId: string; packId: string }
  | { kind: "status"; siteId: string }
  | { kind: "command"; siteId: string }
  | { kind: "command-result"; siteId: string }
  | { kind: "parameters"; siteId: string; packId: string }
  | { kind: "case"; siteId: string; packId: string };

/** Parses one of the topics in docs/architecture.md (Contracts); `null` for anything else (an unknown topic). */
export function parseTopic(topic: string): ParsedTopic | null {
  const parts = topic.split("/");
  if (!parts.slice(1).every(isId)) return null;
  const [root, siteId, packId, leaf] = parts;
  if (siteId === undefined) return null;
  if (root === "bms") {
    if (parts.length === 3 && packId === "status") return { kind: "status", siteId };
    if (parts.length === 3 && packId === COMMAND_LEVEL) return { kind: "command", siteId };
    if (parts.length === 4 && packId === COMMAND_LEVEL && leaf === "result") return { kind: "command-result", siteId };
    if (parts.length === 4 && packId !== undefined && (leaf === "telemetry" || leaf === "meta" || leaf === "parameters")) {
      return { kind: leaf, siteId, packId };
    }
  }
  if (root === "cases" && parts.length === 3 && packId !== undefined) return { kind: "case", siteId, packId };
  return null;
}
