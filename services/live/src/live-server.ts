import { join } from "node:path";
import { RuleBook } from "@bms/ingestion";
import { type CaseEvent, createLogger, isAddressInUse, type Logger, PortInUseError } from "@bms/shared";
import { LIVE_DEFAULTS, type LiveConfig } from "@bms/shared/config/live-config";
import {
  type CaseStore,
  type CommandStore,
  openSqliteCaseStore,
  openSqliteCommandStore,
  openSqliteWebhookOutbox,
  type RuleLedger,
  type WebhookOutbox,
} from "@bms/storage";
import { openPostgresStores } from "@bms/storage/postgres";
import Fastify, { type FastifyError } from "fastify";
import { Registry } from "prom-client";
import { loadAccessList, loadCustomers } from "./access-list";
import { CaseIndex } from "./case-index";
import { CommandService } from "./commands/command-service";
import { consoleRoutes } from "./console-assets";
import { consoleMeta } from "./console-meta";
import { createTokenChecker } from "./engineer-auth";
import { openHistorySources } from "./history/history-sources";
import { createLiveMetrics } from "./live-metrics";
import { attachLiveSocket } from "./live-socket";
import { clientAddressResolver, LoginThrottle } from "./login-throttle";
import { type MqttFeed, startMqttFeed } from "./mqtt-feed";
import { PackState } from "./pack-state";
import { connectRedisAdapter } from "./redis-adapter";
import { ReportScheduler } from "./reports/report-delivery";
import { restApi } from "./rest-api";

export interface RunningLive {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface StartLiveOptions {
  /** @default createLogger("live") */
  log?: Logger;
  /** A store the caller owns (and closes); @default PostgreSQL's with `databaseUrl`, else openSqliteCaseStore(`${dataDir}/cases.db`), closed by close() */
  caseStore?: CaseStore;
  /**
   * Where the ingestion's pack states are read (the health API, the reports): the same store.
   * @default the case store (both adapters are a RuleLedger too)
   */
  packStates?: Pick<RuleLedger, "loadStates">;
  /** The ingestion's webhook log, for admins; @default as the case store's, closed by close() */
  webhookOutbox?: WebhookOutbox;
  /** Remote commands; @default PostgreSQL's with `databaseUrl`, else openSqliteCommandStore(`${dataDir}/commands.db`), closed by close() */
  commandStore?: CommandStore;
  /** How often pending commands are published again and expired ones marked, ms. @default 5000 */
  commandRepublishMs?: number;
  /** Registries of other services to expose on this `/metrics` too (`npm start`). @default [] */
  extraRegistries?: Registry[];
  /** Health of other parts in the same process (`npm start`), reported on `/healthz` under their name; one not ok makes it degraded. @default {} */
  extraHealth?: Record<string, () => HealthReport>;
}

/** What a part says on `/healthz`: `ok` decides, the rest is shown as it is. */
export type HealthReport = { ok: boolean } & Record<string, unknown>;

/** Requests are tiny (a status change, a note); anything bigger is refused with 413 before parsing. */
const BODY_LIMIT_BYTES = 16 * 1024;

/** Case events this instance emitted itself, so the MQTT echo of its own publish is not sent twice. */
const RECENT_EVENTS_KEPT = 1000;

function caseEventKey(event: CaseEvent): string {
  return `${event.case.id}|${event.type}|${event.case.status}|${event.case.updatedAt}|${event.case.occurrences}`;
}

function hasLoadStates(store: CaseStore | undefined): store is CaseStore & Pick<RuleLedger, "loadStates"> {
  return typeof (store as Partial<RuleLedger> | undefined)?.loadStates === "function";
}

/** The case store and where pack states are read: the caller's, else the store `open` makes (both adapters are a RuleLedger too). */
function chooseStores(
  options: StartLiveOptions,
  open: () => CaseStore & Pick<RuleLedger, "loadStates">,
): { caseStore: CaseStore; packStates: Pick<RuleLedger, "loadStates"> } {
  if (options.caseStore === undefined) {
    const own = open();
    return { caseStore: own, packStates: options.packStates ?? own };
  }
  const packStates = options.packStates ?? (hasLoadStates(options.caseStore) ? options.caseStore : undefined);
  if (packStates === undefined) throw new Error("startLive: pass packStates (a RuleLedger) with a caseStore that is not one");
  return { caseStore: options.caseStore, packStates };
}

/** Starts REST, socket.io, the console, /healthz and /metrics on one port, fed from MQTT; and the monthly report scheduler when reports are configured. */
export async function startLive(config: LiveConfig, options: StartLiveOptions = {}): Promise<RunningLive> {
  const log = options.log ?? createLogger("live");
  const metrics = createLiveMetrics();
  // Access and rules first: a bad TOKENS_FILE or rule file stops the start (exit 2) before anything listens.
  const identify = createTokenChecker(loadAccessList(config));
  const customers = loadCustomers(config);
  const book = RuleBook.load({ file: config.rulesFile });
  const meta = consoleMeta(book, config.grafanaUrl);
  const clientAddress = clientAddressResolver(config.http.trustProxy);
  const throttle = new LoginThrottle({
    initialDelayMs: config.loginThrottleInitialMs ?? LIVE_DEFAULTS.loginThrottleInitialMs,
    maxDelayMs: config.loginThrottleMaxMs ?? LIVE_DEFAULTS.loginThrottleMaxMs,
  });
  const state = new PackState({ historyPerPack: config.historyPerPack, maxPacks: config.maxPacks ?? LIVE_DEFAULTS.maxPacks });
  const history = openHistorySources(config.influx, state, log);
  const pg =
    config.databaseUrl && (!options.caseStore || !options.webhookOutbox || !options.commandStore)
      ? await openPostgresStores(config.databaseUrl, { applicationName: "bms-live" })
      : null;
  const ownsStore = options.caseStore === undefined && pg === null;
  const { caseStore, packStates } = chooseStores(options, () => pg?.cases ?? openSqliteCaseStore(join(config.dataDir, "cases.db")));
  const ownsOutbox = options.webhookOutbox === undefined && pg === null;
  const webhookOutbox = options.webhookOutbox ?? pg?.webhooks ?? openSqliteWebhookOutbox(join(config.dataDir, "cases.db"));
  const ownsCommands = options.commandStore === undefined && pg === null;
  const commandStore = options.commandStore ?? pg?.commands ?? openSqliteCommandStore(join(config.dataDir, "commands.db"));
  // Behind Redis, several nodes share the rooms; each reads from the broker only what its sockets watch.
  const redis = config.redisUrl ? await connectRedisAdapter(config.redisUrl, log) : null;
  let feed: MqttFeed | null = null;
  const caseIndex = new CaseIndex(caseStore, log);

  const app = Fastify({ logger: false, bodyLimit: BODY_LIMIT_BYTES, return503OnClosing: true, forceCloseConnections: true });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) {
      log.error({ err, method: request.method, url: request.url }, "request failed");
      return reply.code(500).send({ error: "internal error; the service log has the details" });
    }
    // Fastify's own 4xx (bad JSON, body too large, wrong content type) have readable messages.
    return reply.code(status).send({ error: err.message });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `no route ${request.method} ${request.url.slice(0, 200)}` }));

  const socket = attachLiveSocket(app.server, {
    identify,
    throttle,
    clientAddress,
    state,
    metrics,
    log,
    sampleTickMs: config.sampleTickMs ?? LIVE_DEFAULTS.sampleTickMs,
    maxSubscriptionsPerSocket: config.maxSubscriptionsPerSocket ?? LIVE_DEFAULTS.maxSubscriptionsPerSocket,
    subscribeBurst: config.subscribeBurst ?? LIVE_DEFAULTS.subscribeBurst,
    subscribesPerSecond: config.subscribesPerSecond ?? LIVE_DEFAULTS.subscribesPerSecond,
    slowSocketBytes: config.slowSocketBytes ?? LIVE_DEFAULTS.slowSocketBytes,
    maxSocketBufferBytes: config.maxSocketBufferBytes ?? LIVE_DEFAULTS.maxSocketBufferBytes,
    ...(redis
      ? {
          adapter: redis.adapter,
          watching: {
            watch: (siteId: string, packId?: string) => feed?.watch(siteId, packId),
            unwatch: (siteId: string, packId?: string) => feed?.unwatch(siteId, packId),
          },
        }
      : {}),
  });

  const recentEvents = new Set<string>();
  const rememberEvent = (key: string) => {
    recentEvents.add(key);
    if (recentEvents.size > RECENT_EVENTS_KEPT) {
      const oldest = recentEvents.values().next().value;
      if (oldest !== undefined) recentEvents.delete(oldest);
    }
  };

  const commands: CommandService = new CommandService({
    store: commandStore,
    caseStore,
    publish: (siteId, message) => mqttFeed.publishCommand(siteId, message),
    emit: (record) => socket.emitCommand(record),
    announceCaseEvent: (event) => announceCaseEvent(event),
    log,
    ...(options.commandRepublishMs !== undefined ? { republishMs: options.commandRepublishMs } : {}),
  });

  const mqttFeed = startMqttFeed(
    config.mqtt,
    state,
    {
      onSample: (siteId, packId, sample) => socket.queueSample(siteId, packId, sample),
      onCaseEvent: (event) => {
        const key = caseEventKey(event);
        if (recentEvents.delete(key)) return;
        // Every node receives the broker's case events itself.
        caseIndex.apply(event.case);
        socket.emitCaseEvent(event, "local");
      },
      onCommandResult: (siteId, value) => {
        commands.onResult(siteId, value).catch((err: unknown) => log.warn({ err, siteId }, "could not apply a command result"));
      },
      onParameters: (siteId, packId, value) => commands.onParameters(siteId, packId, value),
    },
    metrics,
    log,
    redis !== null,
  );
  feed = mqttFeed;

  const announceCaseEvent = (event: CaseEvent) => {
    caseIndex.apply(event.case);
    if (redis) {
      // Every node's subscribers through Redis (not the broker: each node would send it again).
      socket.emitCaseEvent(event, "all");
      return;
    }
    // Local subscribers at once, whether or not the broker is reachable; other instances via MQTT.
    socket.emitCaseEvent(event, "local");
    rememberEvent(caseEventKey(event));
    mqttFeed.publishCaseEvent(event).catch((err: unknown) => log.warn({ err, caseId: event.case.id }, "could not publish a case event"));
  };

  app.get("/healthz", async (_request, reply) => {
    const mqttConnected = mqttFeed.ready;
    const parts = Object.fromEntries(Object.entries(options.extraHealth ?? {}).map(([name, report]) => [name, report()]));
    const ok = mqttConnected && Object.values(parts).every((part) => part.ok);
    const body = { status: ok ? "ok" : "degraded", mqttConnected, packs: state.packCount, uptimeSeconds: Math.round(process.uptime()), ...parts };
    return reply.code(ok ? 200 : 503).send(body);
  });

  app.get("/metrics", async (_request, reply) => {
    metrics.loginBlockedAddresses.set(throttle.blockedCount(Date.now()));
    // Merged per request so that metrics other services register later are included.
    const merged = Registry.merge([metrics.registry, ...(options.extraRegistries ?? [])]);
    return reply.type(merged.contentType).send(await merged.metrics());
  });

  consoleRoutes(app);
  await app.register(restApi, {
    prefix: "/api",
    caseStore,
    packStates,
    book,
    customers,
    caseIndex,
    webhookOutbox,
    commandStore,
    commands,
    state,
    history,
    identify,
    throttle,
    clientAddress,
    meta,
    metrics,
    log,
    announceCaseEvent,
  });
  commands.start();

  const reports = config.reports;
  const scheduler =
    reports?.schedule && (reports.smtpUrl !== undefined || reports.webhook !== undefined) && customers.length > 0
      ? new ReportScheduler({ config: reports, customers, sources: { caseStore, packStates, book }, cursors: webhookOutbox, log })
      : null;

  const shutdown = async () => {
    await commands.stop();
    await scheduler?.stop();
    await socket.close();
    await app.close();
    await mqttFeed.close();
    await redis?.close();
    if (ownsStore) await caseStore.close();
    if (ownsOutbox) await webhookOutbox.close();
    if (ownsCommands) await commandStore.close();
    await pg?.close();
  };

  try {
    await app.listen({ host: config.http.host, port: config.http.port });
  } catch (err) {
    await shutdown();
    if (isAddressInUse(err)) throw new PortInUseError(config.http.port, "HTTP_PORT (http.port)");
    throw err;
  }
  scheduler?.start();
  const address = app.server.address();
  const port = typeof address === "object" && address !== null ? address.port : config.http.port;
  log.info(
    { port, mqtt: config.mqtt.url, history: config.influx ? `${config.influx.url} (${config.influx.queryApi})` : "live buffer (no INFLUX_URL)" },
    "live service listening",
  );

  let closing: Promise<void> | null = null;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () => {
      closing ??= shutdown();
      return closing;
    },
  };
}
