import { parseConfig } from "@bms/shared";
import { BrokerConfig } from "@bms/shared/config/broker-config";
import { pino } from "pino";
import { makeTempDir } from "../../../test/support/temp-dir";
import { type RunningBroker, startBroker } from "../src/start-broker";

export const AGENT = {
  username: "agent-site-1",
  password: "agent-password-1",
  role: "agent",
  siteId: "site-1",
  clientIds: ["edge-site-1", "test-agent-1-*"],
} as const;
export const OTHER_AGENT = {
  username: "agent-site-2",
  password: "agent-password-2",
  role: "agent",
  siteId: "site-2",
  clientIds: ["edge-site-2", "test-agent-2-*"],
} as const;
/** Default client IDs: `bms-ingestion` and `bms-ingestion-*`. */
export const SERVICE = { username: "ingestion", password: "service-password", role: "service" } as const;

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface TestBroker extends RunningBroker {
  /** Every line the broker logged at warn or above, parsed. */
  logs: LogLine[];
  /** The broker's dataDir (a temporary directory, removed by close() unless `dataDir` was given). */
  dataDir: string;
}

/**
 * A real broker on a free port (or `port`) with the three test accounts, its persistence on disk in
 * a temporary directory (or `dataDir`, kept, to start a broker again on the same data); its log
 * lines are captured.
 */
export async function startTestBroker(over: Record<string, unknown> = {}): Promise<TestBroker> {
  const temp = over.dataDir === undefined ? makeTempDir("bms-broker-") : undefined;
  const dataDir = (over.dataDir as string | undefined) ?? temp?.path ?? "";
  // Every test connects from 127.0.0.1: failed logins of one test must not slow the next (the throttle has its own test).
  const loginThrottle = { freeFailures: 1000 };
  const config = parseConfig(BrokerConfig, { host: "127.0.0.1", port: 0, users: [AGENT, OTHER_AGENT, SERVICE], loginThrottle, ...over, dataDir }, "test");
  const logs: LogLine[] = [];
  const log = pino({ level: "warn" }, { write: (line: string) => logs.push(JSON.parse(line) as LogLine) });
  let broker: RunningBroker;
  try {
    broker = await startBroker(config, { log });
  } catch (err) {
    temp?.remove();
    throw err;
  }
  const close = broker.close.bind(broker);
  return Object.assign(broker, {
    logs,
    dataDir,
    close: async () => {
      await close();
      temp?.remove();
    },
  });
}

let ids = 0;
/** A fresh client ID the test agent account (AGENT) may use. */
export function agentClientId(): string {
  ids += 1;
  return `test-agent-1-${ids}`;
}

/** A fresh client ID the test service account (SERVICE) may use. */
export function serviceClientId(): string {
  ids += 1;
  return `bms-ingestion-${ids}`;
}
