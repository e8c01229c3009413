import { BROKER_TIME_TOPIC, ID_PATTERN } from "@bms/shared";
import type { BrokerIdentity } from "./broker-identity";

export type AclDecision = { allowed: true } | { allowed: false; reason: string };

const ALLOW: AclDecision = { allowed: true };
const deny = (reason: string): AclDecision => ({ allowed: false, reason });

/**
 * True when `topic` is `prefix/level[/level...]` and every level after the prefix is an ID-like
 * word: no empty levels, no `..`, no wildcards, no NUL or other control characters.
 */
function isUnder(topic: string, prefix: string): boolean {
  if (!topic.startsWith(`${prefix}/`)) return false;
  const rest = topic.slice(prefix.length + 1).split("/");
  return rest.every((level) => ID_PATTERN.test(level));
}

/**
 * Publish ACL:
 * - agent: only `bms/{its siteId}/...` (so never `cases/`, `$SYS` or another site, retained or not);
 * - service: only `cases/...`;
 * - anonymous (when allowed): only `bms/...`.
 */
export function authorizePublishTopic(identity: BrokerIdentity | undefined, topic: string): AclDecision {
  if (!identity) return deny("the client has no identity (not authenticated)");
  if (identity.kind === "anonymous") {
    return isUnder(topic, "bms") ? ALLOW : deny("anonymous clients may publish only under bms/");
  }
  const { user } = identity;
  if (user.role === "agent") {
    return user.siteId !== undefined && isUnder(topic, `bms/${user.siteId}`) ? ALLOW : deny(`agent may publish only under bms/${user.siteId ?? "?"}/`);
  }
  return isUnder(topic, "cases") ? ALLOW : deny("service may publish only under cases/");
}

/**
 * Subscribe ACL: an agent only to its own retained status and the broker's time (its clock check:
 * exact topics, no wildcards, so never another site's data); services and (allowed) anonymous
 * clients to anything.
 */
export function authorizeSubscribeTopic(identity: BrokerIdentity | undefined, filter: string): AclDecision {
  if (!identity) return deny("the client has no identity (not authenticated)");
  if (identity.kind === "user" && identity.user.role === "agent") {
    const own = `bms/${identity.user.siteId ?? "?"}/status`;
    return filter === own || filter === BROKER_TIME_TOPIC ? ALLOW : deny(`agents may subscribe only to ${own} and ${BROKER_TIME_TOPIC}`);
  }
  return ALLOW;
}
