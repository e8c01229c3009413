import { type BrokerUser, clientIdMatches, clientIdPatternsOf } from "@bms/shared/config/broker-config";
import type { AclDecision } from "./broker-acl";
import type { BrokerIdentity } from "./broker-identity";

/**
 * Which client IDs an identity may connect with. MQTT lets a CONNECT with a client ID that is
 * already connected take over that session (the older connection is closed and a persistent
 * session, with its queued messages, goes to the newcomer), so the client ID is bound to the account:
 * - an account uses only its own IDs (`clientIds`, or its role's default), which the config keeps
 *   disjoint between accounts; so an account can take over only its own sessions;
 * - an anonymous client (allowAnonymous) uses only IDs that no account owns.
 * Checked at CONNECT, before aedes looks the session up or closes the older connection.
 */
export function createClientIdPolicy(users: readonly BrokerUser[]): (identity: BrokerIdentity, clientId: string) => AclDecision {
  const owned = users.flatMap((user) => clientIdPatternsOf(user).map((pattern) => ({ pattern, username: user.username })));
  return (identity, clientId) => {
    if (identity.kind === "user") {
      const patterns = clientIdPatternsOf(identity.user);
      if (patterns.some((p) => clientIdMatches(p, clientId))) return { allowed: true };
      return { allowed: false, reason: `client ID not allowed for this account (allowed: ${patterns.join(", ")})` };
    }
    const owner = owned.find((o) => clientIdMatches(o.pattern, clientId));
    return owner ? { allowed: false, reason: "client ID belongs to an account" } : { allowed: true };
  };
}
