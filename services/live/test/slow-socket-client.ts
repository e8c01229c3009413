import WebSocket from "ws";

/**
 * A socket.io client that writes but never reads: engine.io v4 and socket.io v5 packets spoken by
 * hand over a `ws` websocket whose socket is paused once the namespace is joined. It plays the
 * attacker (or a frozen browser tab) that the live service must survive: everything the server
 * sends it piles up on the server's side.
 */
export interface SlowSocketClient {
  /** Sends a socket.io event on the namespace; `ackId` asks for an acknowledgement (that is never read). */
  emit(event: string, payload: unknown, ackId?: number): void;
  /** Stops reading (the socket is paused) — called by `connectSlowClient` once connected. */
  readonly closed: boolean;
  close(): void;
}

const ENGINE_OPEN = "0";
const SOCKET_CONNECT = "40";
const SOCKET_EVENT = "42";
const SOCKET_CONNECT_ERROR = "44";

/** Connects to `namespace` with `auth`, waits for the namespace's CONNECT, then stops reading. */
export function connectSlowClient(baseUrl: string, namespace: string, auth: Record<string, unknown>): Promise<SlowSocketClient> {
  const url = `${baseUrl.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`;
  const ws = new WebSocket(url);
  let closed = false;
  ws.on("close", () => {
    closed = true;
  });
  return new Promise((resolve, reject) => {
    ws.on("error", reject);
    ws.on("message", (data) => {
      const text = data.toString();
      if (text.startsWith(ENGINE_OPEN) && !text.startsWith(SOCKET_CONNECT)) {
        ws.send(`${SOCKET_CONNECT}${namespace},${JSON.stringify(auth)}`);
      } else if (text.startsWith(`${SOCKET_CONNECT}${namespace},`)) {
        // Joined: from now on nothing is read, so the server's writes back up.
        ws.pause();
        resolve({
          emit(event, payload, ackId) {
            if (ws.readyState === WebSocket.OPEN) ws.send(`${SOCKET_EVENT}${namespace},${ackId ?? ""}${JSON.stringify([event, payload])}`);
          },
          get closed() {
            return closed;
          },
          close() {
            ws.terminate();
          },
        });
      } else if (text.startsWith(`${SOCKET_CONNECT_ERROR}${namespace},`)) {
        ws.terminate();
        reject(new Error(`connect_error ${text.slice(namespace.length + 3)}`));
      }
    });
  });
}
