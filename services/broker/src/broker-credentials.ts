import { createHash, timingSafeEqual } from "node:crypto";
import type { BrokerUser } from "@bms/shared/config/broker-config";
import type { BrokerIdentity } from "./broker-identity";

/** CONNACK return codes of MQTT 3.1.1 that a refused login gets. */
export const CONNACK_IDENTIFIER_REJECTED = 2;
export const CONNACK_SERVER_UNAVAILABLE = 3;
export const CONNACK_BAD_USERNAME_OR_PASSWORD = 4;
export const CONNACK_NOT_AUTHORIZED = 5;

/** Why a login was refused, as a metric label. */
export type LoginFailure = "unknown-user" | "wrong-password" | "anonymous" | "password-without-username";

export type CredentialCheck =
  | { ok: true; identity: BrokerIdentity }
  | { ok: false; returnCode: typeof CONNACK_BAD_USERNAME_OR_PASSWORD | typeof CONNACK_NOT_AUTHORIZED; failure: LoginFailure; reason: string };

function sha256(data: Buffer | string): Buffer {
  return createHash("sha256").update(data).digest();
}

/**
 * Checks MQTT credentials against the configured accounts. Passwords are compared as SHA-256
 * hashes with timingSafeEqual (equal lengths whatever was sent), and an unknown user costs the
 * same comparison, so timing tells nothing about which accounts exist.
 */
export function createCredentialChecker(
  users: readonly BrokerUser[],
  allowAnonymous: boolean,
): (username: string | undefined, password: Buffer | undefined) => CredentialCheck {
  const accounts = new Map(users.map((u) => [u.username, { user: u, hash: sha256(u.password) }]));
  const decoy = sha256("no such account");
  return (username, password) => {
    if (username === undefined) {
      if (password !== undefined)
        return { ok: false, returnCode: CONNACK_BAD_USERNAME_OR_PASSWORD, failure: "password-without-username", reason: "a password without a username" };
      if (allowAnonymous) return { ok: true, identity: { kind: "anonymous" } };
      return { ok: false, returnCode: CONNACK_NOT_AUTHORIZED, failure: "anonymous", reason: "anonymous clients are not allowed (allowAnonymous is false)" };
    }
    const account = accounts.get(username);
    const sent = sha256(password ?? Buffer.alloc(0));
    const match = timingSafeEqual(sent, account?.hash ?? decoy);
    if (!account) return { ok: false, returnCode: CONNACK_BAD_USERNAME_OR_PASSWORD, failure: "unknown-user", reason: "unknown username" };
    if (password === undefined || !match)
      return { ok: false, returnCode: CONNACK_BAD_USERNAME_OR_PASSWORD, failure: "wrong-password", reason: "wrong password" };
    return { ok: true, identity: { kind: "user", user: account.user } };
  };
}
