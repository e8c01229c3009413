import { z } from "zod";
import { Id } from "./ids";

/**
 * Who may do what in the engineers' API (REST and socket.io): `viewer` reads; `engineer` also
 * works cases; `admin` also reads the webhook log and changes settings.
 */
export const EngineerRole = z.enum(["viewer", "engineer", "admin"]);
export type EngineerRole = z.infer<typeof EngineerRole>;

/** A bearer token's text: long enough not to be guessed, short enough to compare cheaply. */
export const TokenText = z.string().min(16, "at least 16 characters").max(512);

/** A person or service, as the case timeline records them. */
export const EngineerName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[\p{L}\p{N}\p{P}\p{Zs}]+$/u, "letters, digits, punctuation and spaces");

/** Sites a token or a customer covers: at least one, each once. */
const SiteList = z
  .array(Id)
  .min(1, "at least one site")
  .max(10_000)
  .refine((sites) => new Set(sites).size === sites.length, "each site once");

/** A customer (a battery owner) and the sites it owns; a token may name it instead of a site list. */
export const Customer = z
  .object({
    id: Id,
    name: z.string().min(1).max(200),
    sites: SiteList,
  })
  .strict();
export type Customer = z.infer<typeof Customer>;

/**
 * One engineer token. Without `sites` and `customer` it sees every site; with `sites` only those;
 * with `customer` only that customer's sites. `name` is what the case timeline records
 * (default `<role>-<first 6 hex digits of the token's SHA-256>`).
 */
export const AccessToken = z
  .object({
    token: TokenText,
    role: EngineerRole,
    name: EngineerName.optional(),
    sites: SiteList.optional(),
    customer: Id.optional(),
  })
  .strict()
  .refine((t) => t.sites === undefined || t.customer === undefined, { message: "name either sites or a customer, not both", path: ["customer"] });
export type AccessToken = z.infer<typeof AccessToken>;

/** Duplicate token texts and customer IDs, and customers a token names that do not exist. */
function checkReferences(file: { tokens: readonly AccessToken[]; customers: readonly Customer[] }, ctx: z.RefinementCtx): void {
  const customers = new Set<string>();
  file.customers.forEach((customer, i) => {
    if (customers.has(customer.id)) ctx.addIssue({ code: "custom", path: ["customers", i, "id"], message: `customer ${JSON.stringify(customer.id)} twice` });
    customers.add(customer.id);
  });
  const tokens = new Set<string>();
  file.tokens.forEach((token, i) => {
    // The token's value is a secret: the message never repeats it.
    if (tokens.has(token.token)) ctx.addIssue({ code: "custom", path: ["tokens", i, "token"], message: "the same token as an earlier entry" });
    tokens.add(token.token);
    if (token.customer !== undefined && !customers.has(token.customer)) {
      ctx.addIssue({ code: "custom", path: ["tokens", i, "customer"], message: `no customer ${JSON.stringify(token.customer)} in customers` });
    }
  });
}

/**
 * The `TOKENS_FILE` (YAML or JSON): engineer tokens with their role and sites, and the customers
 * tokens may name.
 */
export const TokensFile = z
  .object({
    tokens: z.array(AccessToken).max(100_000),
    /** @default [] */
    customers: z.array(Customer).max(100_000).default([]),
  })
  .strict()
  .superRefine(checkReferences);
export type TokensFile = z.infer<typeof TokensFile>;
