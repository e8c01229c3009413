import type { IncomingMessage } from "node:http";
import { isIPv6 } from "node:net";
import { ConfigError } from "@bms/shared";
import proxyAddr from "@fastify/proxy-addr";

export interface LoginThrottleOptions {
  /** Block after the first failure, ms; each further failure doubles it. */
  initialDelayMs: number;
  /** The longest block, ms. */
  maxDelayMs: number;
  /** An address whose last failure is older than this starts again from the first delay. @default 15 min */
  forgetAfterMs?: number;
  /** Addresses remembered at most (oldest forgotten first), so a spray of addresses cannot grow memory. @default 100000 */
  maxAddresses?: number;
}

interface Failures {
  count: number;
  lastAt: number;
  blockedUntil: number;
}

/** What `check` says: go ahead, or wait this long. */
export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterMs: number };

/**
 * Failed logins per source address, with a growing delay: after the n-th failure in a row the
 * address is refused for initialDelayMs × 2^(n-1) (at most maxDelayMs) without its token being
 * looked at, so guessing tokens costs an attacker time that doubles with every miss. A success does
 * not reset the count (an attacker with a token of their own could otherwise interleave it); the
 * count is forgotten after `forgetAfterMs` without a failure. Other addresses are unaffected.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, Failures>();
  private readonly forgetAfterMs: number;
  private readonly maxAddresses: number;

  constructor(private readonly options: LoginThrottleOptions) {
    this.forgetAfterMs = options.forgetAfterMs ?? 15 * 60_000;
    this.maxAddresses = options.maxAddresses ?? 100_000;
  }

  /** Addresses currently refused. */
  blockedCount(now: number): number {
    let n = 0;
    for (const f of this.failures.values()) if (f.blockedUntil > now) n++;
    return n;
  }

  check(address: string, now: number): ThrottleVerdict {
    const f = this.failures.get(addressKey(address));
    if (!f || f.blockedUntil <= now) return { allowed: true };
    return { allowed: false, retryAfterMs: f.blockedUntil - now };
  }

  /** Records a failed login; returns how long the address is now refused, ms. */
  failed(address: string, now: number): number {
    const key = addressKey(address);
    const previous = this.failures.get(key);
    const count = previous && now - previous.lastAt < this.forgetAfterMs ? previous.count + 1 : 1;
    const delay = Math.min(this.options.initialDelayMs * 2 ** Math.min(count - 1, 30), this.options.maxDelayMs);
    // Re-inserted so that the map's order is least recently failed first.
    this.failures.delete(key);
    this.failures.set(key, { count, lastAt: now, blockedUntil: now + delay });
    this.evict(now);
    return delay;
  }

  private evict(now: number): void {
    for (const [key, f] of this.failures) {
      if (this.failures.size <= this.maxAddresses && now - f.lastAt < this.forgetAfterMs) break;
      this.failures.delete(key);
    }
  }
}

/**
 * The unit an address is throttled by: an IPv4 address, or an IPv6 /64 (one host usually holds a
 * whole /64, so single IPv6 addresses would be free to rotate).
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (!isIPv6(address)) return address;
  const [head = "", tail = ""] = address.toLowerCase().split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === "" ? [] : tail.split(":");
  const groups = address.includes("::") ? [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

/**
 * The client's address of a request or a socket.io handshake: the TCP peer, or, when the peer is
 * one of the `trustProxy` addresses, what its X-Forwarded-For says.
 */
export function clientAddressResolver(trustProxy: readonly string[]): (request: IncomingMessage) => string {
  let trust: (address: string, hop: number) => boolean;
  try {
    trust = proxyAddr.compile([...trustProxy]);
  } catch (err) {
    throw new ConfigError("http.trustProxy", [`http.trustProxy: ${(err as Error).message}`]);
  }
  return (request) => proxyAddr(request, trust) ?? "unknown";
}
