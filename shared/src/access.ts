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
    /** Where the monthly follow-up report is mailed. @default [] */
    emails: z.array(z.email()).max(50).default([]),
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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function entries(file: unknown, key: string): unknown[] {
  const list = isRecord(file) ? file[key] : undefined;
  return Array.isArray(list) ? list : [];
}

/**
 * Duplicate token texts and customer IDs, and customers a token names that do not exist. Runs even
 * when other fields failed (on what parsed), so a file's problems are all reported at once.
 */
function checkReferences(file: unknown, ctx: z.core.$RefinementCtx<unknown>): void {
  const customers = new Set<string>();
  entries(file, "customers").forEach((customer, i) => {
    const id = isRecord(customer) ? customer.id : undefined;
    if (typeof id !== "string") return;
    if (customers.has(id)) ctx.addIssue({ code: "custom", path: ["customers", i, "id"], message: "a customer ID used twice", input: id });
    customers.add(id);
  });
  const tokens = new Set<string>();
  entries(file, "tokens").forEach((token, i) => {
    if (!isRecord(token)) return;
    // The token's value is a secret: the message never repeats it.
    if (typeof token.token === "string") {
      if (tokens.has(token.token)) ctx.addIssue({ code: "custom", path: ["tokens", i, "token"], message: "the same token as an earlier entry" });
      tokens.add(token.token);
    }
    if (typeof token.customer === "string" && !customers.has(token.customer)) {
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
  .check(z.superRefine(checkReferences, { when: () => true }));
export type TokensFile = z.infer<typeof TokensFile>;
