/**
 * The Lawicel SLCAN ASCII protocol of CAN-to-serial adapters (docs/protocols.md §3): commands the
 * agent sends and the frame lines it receives. Pure functions, so hostile input is easy to test.
 */

/** One classic CAN frame: 11- or 29-bit ID, 0–8 data bytes. */
export interface CanFrame {
  id: number;
  extended: boolean;
  data: Uint8Array;
}

/** S0..S8 in bit/s. */
const BIT_RATES = [10_000, 20_000, 50_000, 100_000, 125_000, 250_000, 500_000, 800_000, 1_000_000] as const;

/** `S6` for 500 kbit/s; throws for a rate SLCAN has no command for. */
export function bitRateCommand(bitRate: number): string {
  const index = (BIT_RATES as readonly number[]).indexOf(bitRate);
  if (index < 0) throw new RangeError(`SLCAN has no bit rate ${bitRate} (one of ${BIT_RATES.join(", ")})`);
  return `S${index}`;
}

const HEX = /^[0-9A-Fa-f]*$/;

/**
 * A received data frame line without its CR: `tIIILDD..` (11-bit) or `TIIIIIIIILDD..` (29-bit),
 * optionally followed by 4 hex digits of timestamp (`Z1`). Null when the line is anything else or
 * malformed (wrong length digit, odd data, non-hex): a garbled line must never become a frame.
 * Remote frames (`r`, `R`) carry no data and are not frames here either.
 */
export function parseSlcanFrame(line: string): CanFrame | null {
  const kind = line[0];
  if (kind !== "t" && kind !== "T") return null;
  const extended = kind === "T";
  const idDigits = extended ? 8 : 3;
  if (line.length < 2 + idDigits || !HEX.test(line.slice(1))) return null;
  const id = Number.parseInt(line.slice(1, 1 + idDigits), 16);
  const length = Number.parseInt(line.slice(1 + idDigits, 2 + idDigits), 16);
  if (id > (extended ? 0x1fffffff : 0x7ff) || !(length >= 0 && length <= 8)) return null;
  const rest = line.slice(2 + idDigits);
  if (rest.length !== 2 * length && rest.length !== 2 * length + 4) return null;
  const data = new Uint8Array(length);
  for (let i = 0; i < length; i++) data[i] = Number.parseInt(rest.slice(2 * i, 2 * i + 2), 16);
  return { id, extended, data };
}

/** A standard data frame as the command that transmits it, e.g. the inverter keep-alive `t3058…`. */
export function formatSlcanTransmit(id: number, data: Uint8Array): string {
  const hex = Array.from(data, (b) => b.toString(16).toUpperCase().padStart(2, "0")).join("");
  return `t${id.toString(16).toUpperCase().padStart(3, "0")}${data.length}${hex}\r`;
}

/** What one received token is: the adapter's reply to a command, a frame line, or noise. */
export type SlcanToken =
  | { kind: "ok"; text: string }
  | { kind: "error" }
  | { kind: "frame"; frame: CanFrame }
  | { kind: "remote" }
  | { kind: "malformed"; text: string };

/** Longest sensible line: `T` + 8 + 1 + 16 + 4 timestamp digits. */
const MAX_LINE = 30;

/**
 * Splits the adapter's byte stream into tokens: lines end with CR, BEL (0x07) alone is an error
 * reply. Keeps the unfinished tail for the next chunk; an overlong tail is noise and is dropped.
 */
export class SlcanTokenizer {
  private pending = "";

  push(chunk: string): SlcanToken[] {
    const tokens: SlcanToken[] = [];
    for (const ch of chunk) {
      if (ch === "\x07") {
        if (this.pending !== "") tokens.push({ kind: "malformed", text: this.pending });
        this.pending = "";
        tokens.push({ kind: "error" });
      } else if (ch === "\r") {
        tokens.push(classify(this.pending.replace(/\n/g, "")));
        this.pending = "";
      } else if (this.pending.length >= MAX_LINE) {
        tokens.push({ kind: "malformed", text: this.pending });
        this.pending = ch;
      } else {
        this.pending += ch;
      }
    }
    return tokens;
  }
}

function classify(line: string): SlcanToken {
  const head = line[0];
  if (head === "t" || head === "T") {
    const frame = parseSlcanFrame(line);
    return frame ? { kind: "frame", frame } : { kind: "malformed", text: line };
  }
  if (/^[rR][0-9A-Fa-f]{4,9}$/.test(line)) return { kind: "remote" };
  // Replies: CR alone (OK), z/Z after a transmit, V…/N…/F… with content.
  if (line === "" || line === "z" || line === "Z" || /^[VNF][0-9A-Fa-f]{2,4}$/.test(line)) return { kind: "ok", text: line };
  return { kind: "malformed", text: line };
}
