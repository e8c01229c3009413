import type { Server as HttpServer } from "node:http";
import {
  type CaseEvent,
  formatIssues,
  LIVE_EVENTS,
  LIVE_NAMESPACE,
  LiveAuth,
  type Logger,
  type PackSample,
  type SitePackSample,
  type SubscribeAck,
  SubscribeRequest,
} from "@bms/shared";
import { Server } from "socket.io";
import type { LiveMetrics } from "./live-metrics";
import type { PackState } from "./pack-state";

export interface LiveSocketOptions {
  checkToken: (token: string | undefined) => boolean;
  state: PackState;
  metrics: LiveMetrics;
  log: Logger;
  /** Coalescing tick, ms. */
  sampleTickMs: number;
  maxSubscriptionsPerSocket: number;
}

export interface LiveSocket {
  /** Queues a pack's latest sample; sent on the next tick (only the newest per pack). */
  queueSample(siteId: string, packId: string, sample: PackSample): void;
  emitCaseEvent(event: CaseEvent): void;
  close(): Promise<void>;
}

/**
 * A socket with more packets waiting in its engine.io write buffer than this is "slow": it skips
 * samples until its buffer flushes. Bounds the server's memory per engineer to about this many
 * samples, without dropping anything for clients that keep up. (socket.io's volatile emits are no
 * use here: they drop every packet after the first while a websocket frame is in flight.)
 */
const SLOW_SOCKET_BACKLOG = 500;
const SLOW_ROOM = "slow-clients";

/** Largest socket.io message accepted from a client: subscriptions are tiny. */
const MAX_CLIENT_MESSAGE_BYTES = 16 * 1024;

export const siteRoom = (siteId: string) => `site:${siteId}`;
export const packRoom = (siteId: string, packId: string) => `pack:${siteId}/${packId}`;

type Ack = (reply: SubscribeAck) => void;

/** socket.io passes the ack callback last; a client may send none, or send it without a payload. */
function splitArgs(args: unknown[]): { payload: unknown; ack: Ack } {
  const last = args[args.length - 1];
  if (typeof last === "function") {
    const ack: Ack = (reply) => last(reply);
    return { payload: args.length > 1 ? args[0] : undefined, ack };
  }
  return { payload: args[0], ack: () => {} };
}

/**
 * The `/live` namespace: token auth in the handshake, rooms per site and per pack, samples
 * coalesced per pack per tick and skipped for a slow client (it misses intermediate samples instead
 * of growing the server's write buffers), case events sent reliably.
 */
export function attachLiveSocket(httpServer: HttpServer, options: LiveSocketOptions): LiveSocket {
  const { state, metrics, log } = options;
  const io = new Server(httpServer, { serveClient: true, maxHttpBufferSize: MAX_CLIENT_MESSAGE_BYTES, cors: { origin: false } });
  // Nothing lives on the main namespace: refuse it rather than keep idle sockets around.
  io.use((_socket, next) => next(new Error(`use the ${LIVE_NAMESPACE} namespace`)));
  const live = io.of(LIVE_NAMESPACE);

  live.use((socket, next) => {
    const auth = LiveAuth.safeParse(socket.handshake.auth);
    if (auth.success && options.checkToken(auth.data.token)) return next();
    metrics.socketsRefused.inc();
    next(new Error("unauthorized"));
  });

  live.on("connection", (socket) => {
    metrics.sockets.inc();
    socket.on("disconnect", () => metrics.sockets.dec());
    // Packets queued since the engine last flushed to the transport.
    let backlog = 0;
    socket.conn.on("packetCreate", () => {
      if (++backlog === SLOW_SOCKET_BACKLOG) socket.join(SLOW_ROOM);
    });
    socket.conn.on("flush", () => {
      backlog = 0;
      socket.leave(SLOW_ROOM);
    });

    socket.on(LIVE_EVENTS.subscribe, (...args: unknown[]) => {
      const { payload, ack } = splitArgs(args);
      const request = SubscribeRequest.safeParse(payload, { reportInput: true });
      if (!request.success) return ack({ ok: false, error: formatIssues(request.error.issues).join("; ") });
      const { siteId, packId } = request.data;
      const room = packId === undefined ? siteRoom(siteId) : packRoom(siteId, packId);
      // socket.rooms holds the socket's own id as well.
      const subscriptions = [...socket.rooms].filter((r) => r.startsWith("site:") || r.startsWith("pack:")).length;
      if (!socket.rooms.has(room) && subscriptions >= options.maxSubscriptionsPerSocket) {
        return ack({ ok: false, error: `at most ${options.maxSubscriptionsPerSocket} subscriptions per connection; unsubscribe first` });
      }
      socket.join(room);
      ack({ ok: true, room });
      for (const sample of state.latestSamples(siteId, packId)) socket.emit(LIVE_EVENTS.sample, sample);
    });

    socket.on(LIVE_EVENTS.unsubscribe, (...args: unknown[]) => {
      const { payload, ack } = splitArgs(args);
      const request = SubscribeRequest.safeParse(payload, { reportInput: true });
      if (!request.success) return ack({ ok: false, error: formatIssues(request.error.issues).join("; ") });
      const { siteId, packId } = request.data;
      const room = packId === undefined ? siteRoom(siteId) : packRoom(siteId, packId);
      socket.leave(room);
      ack({ ok: true, room });
    });
  });

  // Latest sample per pack since the last tick; bounded by the number of packs.
  let pending = new Map<string, SitePackSample>();
  const timer = setInterval(() => {
    if (pending.size === 0) return;
    const batch = pending;
    pending = new Map();
    for (const sample of batch.values()) {
      live
        .to([siteRoom(sample.siteId), packRoom(sample.siteId, sample.packId)])
        .except(SLOW_ROOM)
        .emit(LIVE_EVENTS.sample, sample);
      metrics.samplesSent.inc();
    }
  }, options.sampleTickMs);
  timer.unref();

  return {
    queueSample(siteId, packId, sample) {
      pending.set(`${siteId}/${packId}`, { ...sample, siteId, packId });
    },
    emitCaseEvent(event) {
      live.to([siteRoom(event.case.siteId), packRoom(event.case.siteId, event.case.packId)]).emit(LIVE_EVENTS.case, event);
      metrics.caseEventsSent.inc();
    },
    async close() {
      clearInterval(timer);
      live.disconnectSockets(true);
      // Not io.close(): that would close the HTTP server, which fastify owns and closes itself.
      io.engine.close();
      log.debug("live socket closed");
    },
  };
}
