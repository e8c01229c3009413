// PostgreSQL text cannot hold U+0000, which the stores must keep (a dead letter's payload, a case
// title: whatever came in comes back). So every string a statement binds escapes it, and every
// string a row returns is unescaped: U+0001 is the escape character, "\u0001" + "0" stands for
// U+0000 and "\u0001\u0001" for U+0001. Strings without either (all IDs, all JSON, which escapes
// control characters) are stored as they are and read as they are in psql.

const NUL = "\u0000";
const ESC = "\u0001";

export function encodeText(s: string): string {
  if (!s.includes(NUL) && !s.includes(ESC)) return s;
  return s
    .split(ESC)
    .join(ESC + ESC)
    .split(NUL)
    .join(`${ESC}0`);
}

export function decodeText(s: string): string {
  if (!s.includes(ESC)) return s;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== ESC) {
      out += c;
      continue;
    }
    const next = s[++i] ?? "";
    // Only "0" and ESC follow ESC in what encodeText wrote; anything else (a hand-edited row) stays.
    out += next === "0" ? NUL : next === ESC ? ESC : ESC + next;
  }
  return out;
}

/** A bound value with its strings (also inside arrays) escaped. */
export function encodeValue<V>(value: V): V {
  if (typeof value === "string") return encodeText(value) as V;
  if (Array.isArray(value)) return value.map((v) => (typeof v === "string" ? encodeText(v) : v)) as V;
  return value;
}

/** A row with its strings unescaped. */
export function decodeRow(row: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(row)) {
    const value = row[key];
    if (typeof value === "string" && value.includes(ESC)) row[key] = decodeText(value);
  }
  return row;
}
