// The socket.io feed: one connection, rooms joined by the screen that needs them.

const listeners = { sample: new Set(), case: new Set(), status: new Set() };
let socket = null;
const rooms = new Map(); // "site/pack" -> { siteId, packId }

export function connect(token, onRefused) {
  socket = window.io("/live", { auth: { token } });
  socket.on("connect", () => {
    emit("status", true);
    // Rooms are per connection: join again after a reconnect.
    for (const room of rooms.values()) socket.emit("subscribe", room, () => {});
  });
  socket.on("disconnect", () => emit("status", false));
  socket.on("connect_error", (err) => {
    if (err?.message === "unauthorized") onRefused("That token was not accepted.");
    else if (err?.message === "throttled")
      onRefused(`Too many failed logins from this address; try again in ${Math.ceil((err.data?.retryAfterMs || 1000) / 1000)} s.`, true);
    else emit("status", false);
  });
  socket.on("sample", (s) => emit("sample", s));
  socket.on("case", (e) => emit("case", e));
}

export function disconnect() {
  socket?.close();
  socket = null;
  rooms.clear();
}

function emit(kind, value) {
  for (const fn of listeners[kind]) fn(value);
}

/** Listens to `sample`, `case` or `status` (connected: boolean); returns the way to stop. */
export function on(kind, fn) {
  listeners[kind].add(fn);
  return () => listeners[kind].delete(fn);
}

/** Joins a pack's room (its samples and cases) until the returned function is called. */
export function watchPack(siteId, packId) {
  const key = `${siteId}/${packId}`;
  rooms.set(key, { siteId, packId });
  socket?.emit("subscribe", { siteId, packId }, () => {});
  return () => {
    rooms.delete(key);
    socket?.emit("unsubscribe", { siteId, packId }, () => {});
  };
}
