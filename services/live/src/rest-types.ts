import type { IncomingMessage } from "node:http";
import type { RuleBook } from "@bms/ingestion";
import type { CaseEvent, Customer, EngineerRole, LiveMeta, Logger } from "@bms/shared";
import type { CaseStore, CommandStore, RuleLedger, WebhookOutbox } from "@bms/storage";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { CaseIndex } from "./case-index";
import type { CommandService } from "./commands/command-service";
import type { Engineer } from "./engineer-auth";
import type { HistorySources } from "./history/history-sources";
import type { LiveMetrics } from "./live-metrics";
import type { LoginThrottle } from "./login-throttle";
import type { PackState } from "./pack-state";

/** What a route is about, so that the scope hook can hide what the token may not see. */
export type RouteScope =
  /** `:id` is a case: 404 unless it exists and its site is the token's. */
  | "case"
  /** `:siteId` is a site: 404 unless it is the token's. */
  | "site";

declare module "fastify" {
  interface FastifyRequest {
    engineer: Engineer;
  }
  interface FastifyContextConfig {
    /** The least role that may call the route; every route under /api declares one. */
    role?: EngineerRole;
    /** Only for tokens that see every site (the route shows data of all sites). */
    allSites?: boolean;
    scope?: RouteScope;
  }
}

export interface RestDeps {
  caseStore: CaseStore;
  /** The ingestion's pack states (their health part), read from the case store. */
  packStates: Pick<RuleLedger, "loadStates">;
  /** The rule book the ingestion uses: each pack's warranty terms and health settings. */
  book: RuleBook;
  /** TOKENS_FILE customers: whose sites a monthly report groups. */
  customers: readonly Customer[];
  /** The cases being worked, in memory, for fleet triage. */
  caseIndex: CaseIndex;
  webhookOutbox: WebhookOutbox;
  state: PackState;
  /** Pack history: the time-series server's, and the live buffer to fall back on. */
  history: HistorySources;
  identify: (token: string | undefined) => Engineer | null;
  throttle: LoginThrottle;
  clientAddress: (request: IncomingMessage) => string;
  meta: LiveMeta;
  metrics: LiveMetrics;
  log: Logger;
  commandStore: CommandStore;
  commands: CommandService;
  /** Tells local subscribers and every other live instance (via MQTT) about a changed case. */
  announceCaseEvent(event: CaseEvent): void;
}

/** The /api instance, typed by the zod route schemas. */
export type ZodApp = Parameters<FastifyPluginAsyncZod>[0];
