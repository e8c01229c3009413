import { BROKER_TIME_TOPIC, COMMAND_LEVEL, ID_PATTERN, parseTopic } from "@bms/shared";
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

/** `bms/{siteId}/cmd`: a remote-diagnosis command. */
function isCommand(topic: string): boolean {
  return parseTopic(topic)?.kind === "command";
}

/**
 * Publish ACL:
 * - agent: only `bms/{its siteId}/...` (so never `cases/`, `$SYS` or another site, retained or
 *   not), and never a command (`bms/{its siteId}/cmd`): commands come from the service;
 * - service: `cases/...`; a service account with `commands` also `bms/{siteId}/cmd` of any site;
 * - anonymous (when allowed): only `bms/...`, commands excepted.
 */
export function authorizePublishTopic(identity: BrokerIdentity | undefined, topic: string): AclDecision {
  if (!identity) return deny("the client has no identity (not authenticated)");
  if (isCommand(topic) && !(identity.kind === "user" && identity.user.role === "service" && identity.user.commands)) {
    return deny("only the service's command account publishes commands");
  }
  if (identity.kind === "anonymous") {
    return isUnder(topic, "bms") ? ALLOW : deny("anonymous clients may publish only under bms/");
  }
  const { user } = identity;
  if (user.role === "agent") {
    return user.siteId !== undefined && isUnder(topic, `bms/${user.siteId}`) ? ALLOW : deny(`agent may publish only under bms/${user.siteId ?? "?"}/`);
  }
  if (user.commands && isCommand(topic)) return ALLOW;
  return isUnder(topic, "cases") ? ALLOW : deny(`service may publish only under cases/${user.commands ? " and bms/{siteId}/cmd" : ""}`);
}

/**
 * Subscribe ACL: an agent only to its own retained status, its own commands and the broker's time
 * (exact topics, no wildcards, so never another site's data or commands); services and (allowed)
 * anonymous clients to anything.
 */
export function authorizeSubscribeTopic(identity: BrokerIdentity | undefined, filter: string): AclDecision {
  if (!identity) return deny("the client has no identity (not authenticated)");
  if (identity.kind === "user" && identity.user.role === "agent") {
    const site = identity.user.siteId ?? "?";
    const allowed = [`bms/${site}/status`, `bms/${site}/${COMMAND_LEVEL}`, BROKER_TIME_TOPIC];
    return allowed.includes(filter) ? ALLOW : deny(`agents may subscribe only to ${allowed.join(", ")}`);
  }
  return ALLOW;
}
