import { createHash, timingSafeEqual } from "node:crypto";
import type { EngineerRole } from "@bms/shared";

/** Who a token belongs to, and what it may see. */
export interface Engineer {
  name: string;
  role: EngineerRole;
  /** The sites this token sees; null = every site. */
  sites: ReadonlySet<string> | null;
  /** The customer the token was given for, when it names one. */
  customer: { id: string; name: string } | null;
}

/** A token and whom it identifies. */
export interface TokenEntry {
  token: string;
  engineer: Engineer;
}

const RANK: Readonly<Record<EngineerRole, number>> = { viewer: 1, engineer: 2, admin: 3 };

/** True when `role` may do what `needed` may. */
export function hasRole(engineer: Engineer, needed: EngineerRole): boolean {
  return RANK[engineer.role] >= RANK[needed];
}

/** True when the token may see this site. */
export function canSee(engineer: Engineer, siteId: string): boolean {
  return engineer.sites === null || engineer.sites.has(siteId);
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * Checks engineer tokens in constant time: both sides are hashed to equal length first, and every
 * configured token is compared, so neither the length nor the position of a match leaks.
 */
export function createTokenChecker(entries: readonly TokenEntry[]): (candidate: string | undefined) => Engineer | null {
  const known = entries.map((entry) => ({ hash: digest(entry.token), who: entry.engineer }));
  return (candidate) => {
    if (typeof candidate !== "string" || candidate.length === 0 || candidate.length > 512) return null;
    const probe = digest(candidate);
    let match: Engineer | null = null;
    for (const token of known) if (timingSafeEqual(token.hash, probe) && match === null) match = token.who;
    return match;
  };
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (typeof header !== "string") return undefined;
  const found = /^Bearer ([^\s]+)$/i.exec(header.trim());
  return found?.[1];
}
