import WebSocket from "ws";

/**
 * A socket.io client spoken by hand (engine.io v4 and socket.io v5 packets over a `ws` websocket),
 * for what socket.io-client will not do: send a payload exactly as written (socket.io-client's
 * encoder recurses into it), or write without ever reading. A paused client plays the attacker (or
 * a frozen browser tab) that the live service must survive: everything the server sends it piles up
 * on the server's side.
 */
export interface RawSocketClient {
  /** Sends a socket.io event on the namespace; `payloadJson` is sent as written. `ackId` asks for an acknowledgement. */
  emitRaw(event: string, payloadJson: string, ackId?: number): void;
  emit(event: string, payload: unknown, ackId?: number): void;
  /** Resolves with the acknowledgement's arguments (a client that reads only). */
  ack(ackId: number): Promise<unknown[]>;
  readonly closed: boolean;
  close(): void;
}

const ENGINE_OPEN = "0";
const ENGINE_PING = "2";
const ENGINE_PONG = "3";
const SOCKET_CONNECT = "40";
const SOCKET_EVENT = "42";
const SOCKET_ACK = "43";
const SOCKET_CONNECT_ERROR = "44";

/** Connects to `namespace` with `auth` and waits for the namespace's CONNECT; `paused`: then stops reading. */
export function connectRawClient(baseUrl: string, namespace: string, auth: Record<string, unknown>, options: { paused: boolean }): Promise<RawSocketClient> {
  const url = `${baseUrl.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`;
  const ws = new WebSocket(url);
  let closed = false;
  const acks = new Map<number, (args: unknown[]) => void>();
  ws.on("close", () => {
    closed = true;
  });
  const send = (text: string) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(text);
  };
  const client: RawSocketClient = {
    emitRaw: (event, payloadJson, ackId) => send(`${SOCKET_EVENT}${namespace},${ackId ?? ""}[${JSON.stringify(event)},${payloadJson}]`),
    emit: (event, payload, ackId) => client.emitRaw(event, JSON.stringify(payload), ackId),
    ack: (ackId) => new Promise((resolve) => acks.set(ackId, resolve)),
    get closed() {
      return closed;
    },
    close: () => ws.terminate(),
  };
  return new Promise((resolve, reject) => {
    ws.on("error", reject);
    ws.on("message", (data) => {
      const text = data.toString();
      if (text === ENGINE_PING) send(ENGINE_PONG);
      else if (text.startsWith(ENGINE_OPEN) && !text.startsWith(SOCKET_CONNECT)) send(`${SOCKET_CONNECT}${namespace},${JSON.stringify(auth)}`);
      else if (text.startsWith(`${SOCKET_CONNECT}${namespace},`)) {
        // From now on a paused client reads nothing, so the server's writes back up.
        if (options.paused) ws.pause();
        resolve(client);
      } else if (text.startsWith(`${SOCKET_ACK}${namespace},`)) {
        const body = text.slice(SOCKET_ACK.length + namespace.length + 1);
        const id = Number(/^\d+/.exec(body)?.[0]);
        acks.get(id)?.(JSON.parse(body.slice(String(id).length)) as unknown[]);
        acks.delete(id);
      } else if (text.startsWith(`${SOCKET_CONNECT_ERROR}${namespace},`)) {
        ws.terminate();
        reject(new Error(`connect_error ${text.slice(namespace.length + 3)}`));
      }
    });
  });
}
