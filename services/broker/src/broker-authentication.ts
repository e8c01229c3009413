import type { Logger } from "@bms/shared";
import type { BrokerConfig } from "@bms/shared/config/broker-config";
import type { AuthenticateError, Client } from "aedes";
import { CONNACK_IDENTIFIER_REJECTED, CONNACK_SERVER_UNAVAILABLE, type CredentialCheck, createCredentialChecker } from "./broker-credentials";
import type { BrokerIdentity } from "./broker-identity";
import type { BrokerMetrics } from "./broker-metrics";
import { createClientIdPolicy } from "./client-id-policy";
import { AccountConnections } from "./connection-limits";
import { LoginThrottle } from "./login-throttle";

/** Keeps a hostile 1 MB username or client ID out of the logs; null (a client before its CONNECT) is left out. */
export function preview(text: string | null | undefined, max = 128): string | undefined {
  if (text === undefined || text === null) return undefined;
  return text.length > max ? `${text.slice(0, max)}... (${text.length} characters)` : text;
}

export function remoteAddress(client: Client): string | undefined {
  const conn = client.conn;
  return "remoteAddress" in conn ? conn.remoteAddress : undefined;
}

type Verdict = CredentialCheck | { ok: false; returnCode: typeof CONNACK_IDENTIFIER_REJECTED; reason: string; failure: "client-id" };

export type AuthenticateHook = (
  client: Client,
  username: string | undefined,
  password: Buffer | undefined,
  done: (error: AuthenticateError | null, success: boolean | null) => void,
) => void;

/**
 * aedes' `authenticate` hook, run at every CONNECT before aedes looks up the session or closes an
 * older connection with the same client ID, in this order:
 * 1. the login throttle of the source address (attempts one at a time, waits after failures);
 * 2. the credentials (CONNACK 4, or 5 for an anonymous client when allowAnonymous is false);
 * 3. the client ID must be the account's own (CONNACK 2); a refusal here counts as a failed login;
 * 4. the account's connection cap (CONNACK 3).
 * An accepted client's identity goes into `identities`, for the ACL hooks.
 */
export function createAuthenticate(config: BrokerConfig, identities: WeakMap<Client, BrokerIdentity>, log: Logger, metrics: BrokerMetrics): AuthenticateHook {
  const checkCredentials = createCredentialChecker(config.users, config.allowAnonymous);
  const checkClientId = createClientIdPolicy(config.users);
  const throttle = new LoginThrottle(config.loginThrottle);
  const accounts = new AccountConnections();

  return (client, username, password, done) => {
    const address = remoteAddress(client) ?? "unknown";
    const fields = () => ({ clientId: preview(client.id), username: preview(username), remoteAddress: address });
    const refuse = (returnCode: AuthenticateError["returnCode"], reason: string, message = "connection refused") => {
      log.warn({ ...fields(), reason }, message);
      done(Object.assign(new Error(reason), { returnCode }), false);
    };
    const judge = (): { ok: boolean; result: Verdict } => {
      const credentials = checkCredentials(username, password);
      if (!credentials.ok) return { ok: false, result: credentials };
      const clientId = checkClientId(credentials.identity, client.id);
      if (!clientId.allowed)
        return { ok: false, result: { ok: false, returnCode: CONNACK_IDENTIFIER_REJECTED, reason: clientId.reason, failure: "client-id" } };
      return { ok: true, result: credentials };
    };
    throttle.attempt(address, judge).then(
      (attempt) => {
        if (!attempt.admitted) {
          metrics.loginsThrottled.inc({ outcome: "refused" });
          refuse(CONNACK_SERVER_UNAVAILABLE, "too many login attempts from this address are waiting after failures; try again later");
          return;
        }
        if (attempt.waitedMs > 0) metrics.loginsThrottled.inc({ outcome: "delayed" });
        const verdict = attempt.result;
        if (!verdict.ok) {
          if (verdict.failure === "client-id") metrics.connectionsRefused.inc({ reason: "client-id" });
          else metrics.loginsFailed.inc({ reason: verdict.failure });
          refuse(verdict.returnCode, verdict.reason);
          return;
        }
        const { identity } = verdict;
        if (identity.kind === "user") {
          const limit = identity.user.maxConnections ?? config.maxConnectionsPerAccount;
          if (!accounts.admit(identity.user.username, client.id, limit, client.conn)) {
            metrics.connectionsRefused.inc({ reason: "account-limit" });
            refuse(CONNACK_SERVER_UNAVAILABLE, `the account already holds ${limit} connections (maxConnectionsPerAccount)`);
            return;
          }
        }
        identities.set(client, identity);
        done(null, true);
      },
      (err: unknown) => refuse(CONNACK_SERVER_UNAVAILABLE, `authentication failed: ${String(err)}`),
    );
  };
}
