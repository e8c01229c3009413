import { parseConfig } from "@bms/shared";
import { BrokerConfig } from "@bms/shared/config/broker-config";
import { pino } from "pino";
import { type RunningBroker, startBroker } from "../src/start-broker";

export const AGENT = { username: "agent-site-1", password: "agent-password-1", role: "agent", siteId: "site-1" } as const;
export const OTHER_AGENT = { username: "agent-site-2", password: "agent-password-2", role: "agent", siteId: "site-2" } as const;
export const SERVICE = { username: "ingestion", password: "service-password", role: "service" } as const;

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface TestBroker extends RunningBroker {
  /** Every line the broker logged at warn or above, parsed. */
  logs: LogLine[];
}

/** A real broker on a free port with the three test accounts; its log lines are captured. */
export async function startTestBroker(over: Record<string, unknown> = {}): Promise<TestBroker> {
  const config = parseConfig(BrokerConfig, { host: "127.0.0.1", port: 0, users: [AGENT, OTHER_AGENT, SERVICE], ...over }, "test");
  const logs: LogLine[] = [];
  const log = pino({ level: "warn" }, { write: (line: string) => logs.push(JSON.parse(line) as LogLine) });
  const broker = await startBroker(config, { log });
  return Object.assign(broker, { logs });
}
