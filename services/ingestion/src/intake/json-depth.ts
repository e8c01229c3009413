/**
 * How deep a JSON text nests, found by a scan that never builds objects: stops as soon as the
 * nesting passes `max`. Run before JSON.parse, so that a 120 000-deep array is refused in one
 * linear pass instead of overflowing the stack of whatever walks the parsed value (zod's issue
 * formatting did). Brackets inside strings do not count.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return false;
}
