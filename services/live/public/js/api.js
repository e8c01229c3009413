// The REST API with the engineer's bearer token; 401 and 429 end the session with a reason.

const TOKEN_KEY = "bms-engineer-token";
let token = null;
let onRefused = () => {};

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/** The token from `?token=` (then removed from the address bar and history) or from localStorage. */
export function takeToken() {
  const params = new URLSearchParams(location.search);
  const fromUrl = params.get("token");
  if (fromUrl) {
    localStorage.setItem(TOKEN_KEY, fromUrl);
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : "") + location.hash);
    return fromUrl;
  }
  return localStorage.getItem(TOKEN_KEY);
}

export function useToken(value) {
  token = value;
  if (value) localStorage.setItem(TOKEN_KEY, value);
  else localStorage.removeItem(TOKEN_KEY);
}

export function currentToken() {
  return token;
}

/** Called with (message) when the server refuses the token (401) or the address (429). */
export function onSessionRefused(handler) {
  onRefused = handler;
}

/** A request with the token: the response when it succeeded, else an ApiError with the server's reason. */
export async function request(path, init = {}) {
  const res = await fetch(path, {
    ...init,
    headers: { authorization: `Bearer ${token}`, ...(init.body ? { "content-type": "application/json" } : {}) },
  });
  if (res.status === 401) {
    onRefused("That token was not accepted.");
    throw new ApiError("unauthorized", 401);
  }
  if (res.status === 429) {
    const seconds = Math.ceil(Number(res.headers.get("retry-after") || 1));
    onRefused(`Too many failed logins from this address; try again in ${seconds} s.`, true);
    throw new ApiError("throttled", 429);
  }
  if (!res.ok) {
    const body = await res.json().catch(() => null);
    throw new ApiError(body?.error || `HTTP ${res.status}`, res.status);
  }
  return res;
}

export async function api(path, init = {}) {
  return (await request(path, init)).json().catch(() => null);
}

export const post = (path, body) => api(path, { method: "POST", body: JSON.stringify(body) });

/** Path segments, encoded. */
export const seg = (...parts) => parts.map((p) => encodeURIComponent(p)).join("/");
