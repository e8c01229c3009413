import type { BrokerUser } from "@bms/shared/config/broker-config";

/** Who a connected client is, decided once at CONNECT. */
export type BrokerIdentity = { kind: "user"; user: BrokerUser } | { kind: "anonymous" };

export function describeIdentity(identity: BrokerIdentity | undefined): string | undefined {
  if (!identity) return undefined;
  return identity.kind === "anonymous" ? "(anonymous)" : identity.user.username;
}
