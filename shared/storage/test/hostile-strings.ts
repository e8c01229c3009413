/** Strings that break naive SQL, JSON or UTF-8 handling; every store must return them byte for byte. */
export const HOSTILE_STRINGS: readonly string[] = [
  "'; DROP TABLE queue; --",
  '" OR 1=1 --',
  "Robert'); DELETE FROM cases WHERE ('1'='1",
  "%_\\%",
  "\u0000nul\u0000inside",
  // U+0001 is the PostgreSQL stores' escape character for U+0000: it and what follows it must survive too.
  "\u0001 escape \u00010 \u0001\u0001 \u0001",
  "emoji 🔋⚡ and ünïcödé 電池",
  "\u202Eright-to-left override",
  "line\nbreak\r\ntab\t",
  '{"json":"looking"}',
  "",
];

/** Just over 1 MB of text. */
export const ONE_MB = `${"x".repeat(1_000_000)}🔋end`;
