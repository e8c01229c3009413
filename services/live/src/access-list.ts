import { createHash } from "node:crypto";
import { type AccessToken, ConfigError, type Customer, parseConfig, readConfigFile, TokensFile } from "@bms/shared";
import type { LiveConfig } from "@bms/shared/config/live-config";
import type { Engineer, TokenEntry } from "./engineer-auth";

/** The name a token without one gets: its role and a short, stable fingerprint (never the token itself). */
function defaultName(token: AccessToken): string {
  return `${token.role}-${createHash("sha256").update(token.token, "utf8").digest("hex").slice(0, 6)}`;
}

function engineerOf(token: AccessToken, customers: ReadonlyMap<string, Customer>): Engineer {
  const customer = token.customer === undefined ? undefined : customers.get(token.customer);
  const sites = customer ? customer.sites : token.sites;
  return {
    name: token.name ?? defaultName(token),
    role: token.role,
    sites: sites === undefined ? null : new Set(sites),
    customer: customer ? { id: customer.id, name: customer.name } : null,
  };
}

/**
 * Every token the service accepts: the config's `engineerTokens` (ENGINEER_TOKEN among them) and
 * the TOKENS_FILE's. A bad file, a customer no file defines, the same token twice, or no token at
 * all is a ConfigError (exit 2), one line per problem naming the field.
 */
export function loadAccessList(config: Pick<LiveConfig, "engineerTokens" | "tokensFile">): TokenEntry[] {
  const file = config.tokensFile === undefined ? { tokens: [], customers: [] } : parseConfig(TokensFile, readConfigFile(config.tokensFile), config.tokensFile);
  const customers = new Map(file.customers.map((c) => [c.id, c]));
  const problems: string[] = [];
  const seen = new Set<string>();
  const entries: TokenEntry[] = [];
  const add = (token: AccessToken, path: string) => {
    if (token.customer !== undefined && !customers.has(token.customer)) {
      problems.push(`${path}.customer: no customer ${JSON.stringify(token.customer)} (customers are listed in TOKENS_FILE)`);
      return;
    }
    if (seen.has(token.token)) problems.push(`${path}.token: the same token as an earlier entry (engineerTokens, ENGINEER_TOKEN or TOKENS_FILE)`);
    seen.add(token.token);
    entries.push({ token: token.token, engineer: engineerOf(token, customers) });
  };
  for (const [i, t] of config.engineerTokens.entries()) add(typeof t === "string" ? { token: t, role: "admin", name: "admin" } : t, `engineerTokens.${i}`);
  for (const [i, t] of file.tokens.entries()) add(t, `${config.tokensFile}: tokens.${i}`);
  if (entries.length === 0 && problems.length === 0) problems.push("engineerTokens: no engineer token: set ENGINEER_TOKEN, engineerTokens or TOKENS_FILE");
  if (problems.length > 0) throw new ConfigError("engineer tokens", problems);
  return entries;
}

/** The customers of the TOKENS_FILE (none without one): whose sites the monthly reports group. */
export function loadCustomers(config: Pick<LiveConfig, "tokensFile">): Customer[] {
  if (config.tokensFile === undefined) return [];
  return parseConfig(TokensFile, readConfigFile(config.tokensFile), config.tokensFile).customers;
}
