import { createHash, timingSafeEqual } from "node:crypto";

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * Checks engineer tokens in constant time: both sides are hashed to equal length first, and every
 * configured token is compared, so neither the length nor the position of a match leaks.
 */
export function createTokenChecker(tokens: readonly string[]): (candidate: string | undefined) => boolean {
  const known = tokens.map(digest);
  return (candidate) => {
    if (typeof candidate !== "string" || candidate.length === 0 || candidate.length > 512) return false;
    const probe = digest(candidate);
    let match = false;
    for (const token of known) match = timingSafeEqual(token, probe) || match;
    return match;
  };
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (typeof header !== "string") return undefined;
  const found = /^Bearer ([^\s]+)$/i.exec(header.trim());
  return found?.[1];
}
