import type { Server as HttpServer, IncomingMessage } from "node:http";
import {
  type CaseEvent,
  type CommandRecord,
  formatIssues,
  LIVE_EVENTS,
  LIVE_NAMESPACE,
  LiveAuth,
  type Logger,
  type PackSample,
  type SubscribeAck,
  SubscribeRequest,
} from "@bms/shared";
import { type DefaultEventsMap, Server, type ServerOptions, type Socket } from "socket.io";
import { canSee, type Engineer } from "./engineer-auth";
import type { LiveMetrics } from "./live-metrics";
import type { LoginThrottle } from "./login-throttle";
import type { PackState } from "./pack-state";
import { SocketGuard } from "./socket-guard";

export interface LiveSocketOptions {
  identify: (token: string | undefined) => Engineer | null;
  throttle: LoginThrottle;
  clientAddress: (request: IncomingMessage) => string;
  state: PackState;
  metrics: LiveMetrics;
  log: Logger;
  /** A pack's samples go out at once, then at most one per tick (the newest), ms. */
  sampleTickMs: number;
  maxSubscriptionsPerSocket: number;
  subscribeBurst: number;
  subscribesPerSecond: number;
  slowSocketBytes: number;
  maxSocketBufferBytes: number;
  /** socket.io's adapter (Redis: several live nodes share rooms and broadcasts). @default the in-memory one */
  adapter?: ServerOptions["adapter"];
  /** Told when this node's sockets start or stop watching a site or pack (its upstream subscriptions follow). */
  watching?: {
    watch(siteId: string, packId?: string): void;
    unwatch(siteId: string, packId?: string): void;
  };
}

export interface LiveSocket {
  /** A pack's new latest sample: sent at once, or with the next tick when the pack was sent this tick. */
  queueSample(siteId: string, packId: string, sample: PackSample): void;
  /**
   * `local`: to this node's sockets (what every node receives from the broker itself); `all`: to
   * every node's sockets through the adapter (a change made on this node). The same without Redis.
   */
  emitCaseEvent(event: CaseEvent, reach: "local" | "all"): void;
  /** A command's record to the watchers of its pack and site (a capture's samples left out: GET /api/commands/:id has them). */
  emitCommand(record: CommandRecord): void;
  close(): Promise<void>;
}

/** Sockets over their slow-client budget: broadcasts of samples skip them. */
const SLOW_ROOM = "slow-clients";

/** Largest socket.io message accepted from a client: subscriptions are tiny. */
const MAX_CLIENT_MESSAGE_BYTES = 16 * 1024;

/** What one queued packet costs besides its payload (the packet object, its frame). */
const PACKET_OVERHEAD_BYTES = 64;

export const siteRoom = (siteId: string) => `site:${siteId}`;
export const packRoom = (siteId: string, packId: string) => `pack:${siteId}/${packId}`;

/** The site and pack a room of ours is about; null for other rooms (a socket's own, the slow room). */
function roomSubject(room: unknown): { siteId: string; packId?: string } | null {
  if (typeof room !== "string") return null;
  if (room.startsWith("site:")) return { siteId: room.slice(5) };
  if (!room.startsWith("pack:")) return null;
  const [siteId = "", packId = ""] = room.slice(5).split("/");
  return { siteId, packId };
}

type LiveServerSocket = Socket<DefaultEventsMap, DefaultEventsMap, DefaultEventsMap, SocketData>;
interface SocketData {
  engineer: Engineer;
  /** The client's address (the throttle's key). */
  address: string;
}
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

function packetBytes(packet: { data?: unknown }): number {
  const data = packet.data;
  const size = typeof data === "string" ? data.length : data instanceof ArrayBuffer || ArrayBuffer.isView(data) ? data.byteLength : 0;
  return size + PACKET_OVERHEAD_BYTES;
}

/** The connect_error a client gets; `data` reaches the client as the error's `data`. */
function connectError(message: string, data?: Record<string, unknown>): Error {
  return Object.assign(new Error(message), data === undefined ? {} : { data });
}

/**
 * The `/live` namespace: token auth in the handshake (failed logins throttled per address), rooms
 * per site and per pack limited to the token's sites, samples sent at once and then coalesced per
 * pack per tick, case events sent reliably. Each socket has a budget of bytes waiting for it: past
 * `slowSocketBytes` it misses samples and snapshots, past `maxSocketBufferBytes` it is dropped; its
 * subscribes are rate-limited, and a socket that keeps sending after being refused is dropped.
 */
export function attachLiveSocket(httpServer: HttpServer, options: LiveSocketOptions): LiveSocket {
  const { state, metrics, log, throttle } = options;
  const io = new Server<DefaultEventsMap, DefaultEventsMap, DefaultEventsMap, SocketData>(httpServer, {
    serveClient: true,
    maxHttpBufferSize: MAX_CLIENT_MESSAGE_BYTES,
    cors: { origin: false },
    ...(options.adapter ? { adapter: options.adapter } : {}),
  });
  // Nothing lives on the main namespace: refuse it rather than keep idle sockets around.
  io.use((_socket, next) => next(new Error(`use the ${LIVE_NAMESPACE} namespace`)));
  const live = io.of(LIVE_NAMESPACE);
  // The adapter's rooms are this node's: its upstream subscriptions follow them.
  const watching = options.watching;
  if (watching) {
    live.adapter.on("create-room", (room: unknown) => {
      const subject = roomSubject(room);
      if (subject) watching.watch(subject.siteId, subject.packId);
    });
    live.adapter.on("delete-room", (room: unknown) => {
      const subject = roomSubject(room);
      if (subject) watching.unwatch(subject.siteId, subject.packId);
    });
  }

  live.use((socket, next) => {
    const address = options.clientAddress(socket.request);
    const now = Date.now();
    const verdict = throttle.check(address, now);
    if (!verdict.allowed) {
      metrics.loginThrottled.inc({ transport: "socket.io" });
      return next(connectError("throttled", { retryAfterMs: verdict.retryAfterMs }));
    }
    const auth = LiveAuth.safeParse(socket.handshake.auth);
    const engineer = auth.success ? options.identify(auth.data.token) : null;
    if (engineer) {
      socket.data.engineer = engineer;
      socket.data.address = address;
      return next();
    }
    metrics.socketsRefused.inc();
    // A handshake without any token guesses nothing: only a wrong token counts as a failed login.
    const presented = typeof socket.handshake.auth === "object" && socket.handshake.auth !== null && "token" in socket.handshake.auth;
    if (presented) {
      const delayMs = throttle.failed(address, now);
      metrics.loginFailures.inc({ transport: "socket.io" });
      log.info({ address, delayMs }, "socket.io login failed");
    }
    next(connectError("unauthorized"));
  });

  /** Drops a socket once, after the packet being handled (closing inside engine.io's own event would re-enter it). */
  const drop = (socket: LiveServerSocket, reason: "buffer" | "rate", guard: SocketGuard) => {
    if (guard.dropped) return;
    guard.dropped = true;
    metrics.socketsDropped.inc({ reason });
    log.warn({ engineer: socket.data.engineer.name, address: socket.data.address, reason, queuedBytes: guard.bytes }, "dropped a socket.io client");
    setImmediate(() => socket.disconnect(true));
  };

  live.on("connection", (socket: LiveServerSocket) => {
    const engineer = socket.data.engineer;
    const guard = new SocketGuard(
      {
        slowBytes: options.slowSocketBytes,
        maxBytes: options.maxSocketBufferBytes,
        perSecond: options.subscribesPerSecond,
        burst: options.subscribeBurst,
      },
      Date.now(),
    );
    metrics.sockets.inc();
    socket.on("disconnect", () => metrics.sockets.dec());
    // Everything the server sends this socket passes here, snapshots and acks included.
    socket.conn.on("packetCreate", (packet: { data?: unknown }) => {
      const budget = guard.queued(packetBytes(packet));
      if (budget !== "ok" && !socket.rooms.has(SLOW_ROOM)) socket.join(SLOW_ROOM);
      if (budget === "over") drop(socket, "buffer", guard);
    });
    socket.conn.on("flush", () => {
      guard.flushed();
      socket.leave(SLOW_ROOM);
    });

    /** A handler that throws must not take the process down (socket.io calls it from the websocket's own event). */
    const guarded =
      (handler: (...args: unknown[]) => void) =>
      (...args: unknown[]) => {
        try {
          handler(...args);
        } catch (err) {
          log.error({ err, engineer: engineer.name }, "socket.io handler failed");
          splitArgs(args).ack({ ok: false, error: "internal error; the service log has the details" });
        }
      };

    /** Rate limit and payload check shared by subscribe and unsubscribe; null when refused. */
    const accept = (args: unknown[]): { request: SubscribeRequest; room: string; ack: Ack } | null => {
      const { payload, ack } = splitArgs(args);
      if (!guard.take(Date.now())) {
        metrics.socketMessagesRefused.inc({ reason: "rate" });
        // A client that ignores its refusals would only keep the server busy.
        if (guard.ignoresRefusals) drop(socket, "rate", guard);
        else
          ack({
            ok: false,
            error: `too many subscribe/unsubscribe messages: at most ${options.subscribesPerSecond} a second after a burst of ${options.subscribeBurst}`,
          });
        return null;
      }
      const request = SubscribeRequest.safeParse(payload, { reportInput: true });
      if (!request.success) {
        metrics.socketMessagesRefused.inc({ reason: "invalid" });
        ack({ ok: false, error: formatIssues(request.error.issues).join("; ") });
        return null;
      }
      const { siteId, packId } = request.data;
      if (!canSee(engineer, siteId)) {
        // The same answer whether the site exists or not: a token learns nothing of other sites.
        metrics.socketMessagesRefused.inc({ reason: "scope" });
        ack({ ok: false, error: `no site ${siteId} for this token` });
        return null;
      }
      return { request: request.data, room: packId === undefined ? siteRoom(siteId) : packRoom(siteId, packId), ack };
    };

    socket.on(
      LIVE_EVENTS.subscribe,
      guarded((...args: unknown[]) => {
        const accepted = accept(args);
        if (!accepted) return;
        const { request, room, ack } = accepted;
        if (socket.rooms.has(room)) return ack({ ok: true, room });
        // socket.rooms holds the socket's own id (and maybe the slow room) as well.
        const subscriptions = [...socket.rooms].filter((r) => r.startsWith("site:") || r.startsWith("pack:")).length;
        if (subscriptions >= options.maxSubscriptionsPerSocket) {
          metrics.socketMessagesRefused.inc({ reason: "limit" });
          return ack({ ok: false, error: `at most ${options.maxSubscriptionsPerSocket} subscriptions per connection; unsubscribe first` });
        }
        socket.join(room);
        ack({ ok: true, room });
        // The snapshot counts in the socket's budget: a slow socket gets the rest as live samples.
        for (const sample of state.latestSamples(request.siteId, request.packId)) {
          if (guard.state !== "ok") break;
          socket.emit(LIVE_EVENTS.sample, sample);
        }
      }),
    );

    socket.on(
      LIVE_EVENTS.unsubscribe,
      guarded((...args: unknown[]) => {
        const accepted = accept(args);
        if (!accepted) return;
        socket.leave(accepted.room);
        accepted.ack({ ok: true, room: accepted.room });
      }),
    );
  });

  // Samples go to this node's sockets: every node with watchers gets them from the broker itself.
  const broadcast = (siteId: string, packId: string, sample: PackSample) => {
    live.local
      .to([siteRoom(siteId), packRoom(siteId, packId)])
      .except(SLOW_ROOM)
      .emit(LIVE_EVENTS.sample, { ...sample, siteId, packId });
    metrics.samplesSent.inc();
  };
  const rooms = live.adapter.rooms;
  // Packs sent during the current tick, and the newest sample of each that came after.
  let sentThisTick = new Set<string>();
  let pending = new Map<string, { siteId: string; packId: string; sample: PackSample }>();
  const timer = setInterval(() => {
    sentThisTick = new Set();
    if (pending.size === 0) return;
    const batch = pending;
    pending = new Map();
    for (const [key, { siteId, packId, sample }] of batch) {
      sentThisTick.add(key);
      broadcast(siteId, packId, sample);
    }
  }, options.sampleTickMs);
  timer.unref();

  return {
    queueSample(siteId, packId, sample) {
      // Nobody listening: nothing to send (a later subscriber gets the snapshot).
      if (!rooms.has(siteRoom(siteId)) && !rooms.has(packRoom(siteId, packId))) return;
      const key = `${siteId}/${packId}`;
      if (sentThisTick.has(key)) {
        pending.set(key, { siteId, packId, sample });
        return;
      }
      sentThisTick.add(key);
      broadcast(siteId, packId, sample);
    },
    emitCaseEvent(event, reach) {
      const rooms = [siteRoom(event.case.siteId), packRoom(event.case.siteId, event.case.packId)];
      (reach === "local" ? live.local : live).to(rooms).emit(LIVE_EVENTS.case, event);
      metrics.caseEventsSent.inc();
    },
    emitCommand(record) {
      const result = record.result as { frame?: unknown[] } | undefined;
      const slim = result?.frame ? { ...record, result: { ...result, frame: undefined, frameSamples: result.frame.length } } : record;
      live.to([siteRoom(record.siteId), packRoom(record.siteId, record.packId)]).emit(LIVE_EVENTS.command, slim);
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
