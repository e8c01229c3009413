import { createHash, timingSafeEqual } from "node:crypto";
import type { EngineerRole, EngineerToken } from "@bms/shared/config/live-config";

/** Who a token belongs to. */
export interface Engineer {
  name: string;
  role: EngineerRole;
}

const RANK: Readonly<Record<EngineerRole, number>> = { viewer: 1, engineer: 2, admin: 3 };

/** True when `role` may do what `needed` may. */
export function hasRole(engineer: Engineer, needed: EngineerRole): boolean {
  return RANK[engineer.role] >= RANK[needed];
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * Checks engineer tokens in constant time: both sides are hashed to equal length first, and every
 * configured token is compared, so neither the length nor the position of a match leaks. A plain
 * string token is an admin named `admin` (ENGINEER_TOKEN).
 */
export function createTokenChecker(tokens: readonly EngineerToken[]): (candidate: string | undefined) => Engineer | null {
  const known = tokens.map((t) =>
    typeof t === "string"
      ? { hash: digest(t), who: { name: "admin", role: "admin" as const } }
      : { hash: digest(t.token), who: { name: t.name, role: t.role } },
  );
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
