import { type PtyPair, startPtyPair } from "@bms/simulators";
import fc from "fast-check";
import { SerialPort } from "serialport";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodePylontechFrames, REQUIRED_IDS } from "../src/can/pylontech-decoder";
import { DecodeError } from "../src/readers/decode-error";
import { type CanFrame, formatSlcanTransmit, parseSlcanFrame, type SlcanToken, SlcanTokenizer } from "../src/transports/slcan-codec";
import { SlcanTransport } from "../src/transports/slcan-transport";
import { BadReplyError, DeviceTimeoutError, DeviceUnreachableError } from "../src/transports/transport-errors";

/**
 * Property-based tests (fast-check) of what the agent reads from an SLCAN adapter: random and
 * adversarial bytes never crash or hang the codec, the transport or the Pylontech decoder, and end
 * either in valid frames or in a typed rejection.
 */

const hex = (digits: number) => fc.array(fc.constantFrom(..."0123456789abcdefABCDEF"), { minLength: digits, maxLength: digits }).map((a) => a.join(""));

/** Lines shaped like frames, with every part possibly wrong: kind, ID digits, length digit, data, timestamp, junk. */
const frameLike = fc
  .tuple(
    fc.constantFrom("t", "T", "r", "R", "x", ""),
    fc.integer({ min: 0, max: 10 }).chain(hex),
    fc.constantFrom(..."0123456789ABCDEFG"),
    fc.integer({ min: 0, max: 20 }).chain(hex),
    fc.option(fc.string({ maxLength: 3 }), { nil: "" }),
  )
  .map(([kind, id, length, data, junk]) => `${kind}${id}${length}${data}${junk}`);

/** What the transport hands the tokenizer: the adapter's bytes decoded as latin1, one character per byte. */
const latin1 = fc.integer({ min: 0, max: 255 }).map((code) => String.fromCharCode(code));
const anyLine = fc.oneof(frameLike, fc.string({ maxLength: 40 }), fc.string({ unit: latin1, maxLength: 40 }));

function expectValidFrame(frame: CanFrame): void {
  expect(Number.isInteger(frame.id)).toBe(true);
  expect(frame.id).toBeGreaterThanOrEqual(0);
  expect(frame.id).toBeLessThanOrEqual(frame.extended ? 0x1fffffff : 0x7ff);
  expect(frame.data.length).toBeLessThanOrEqual(8);
}

function expectValidToken(token: SlcanToken): void {
  expect(["ok", "error", "frame", "remote", "malformed"]).toContain(token.kind);
  if (token.kind === "frame") expectValidFrame(token.frame);
  if (token.kind === "malformed") expect(token.text.length).toBeLessThanOrEqual(40);
}

describe("SLCAN codec under random input", () => {
  it("parseSlcanFrame never throws; what it accepts is a valid frame that formats back to the same line", () => {
    fc.assert(
      fc.property(anyLine, (line) => {
        const frame = parseSlcanFrame(line);
        if (frame === null) return;
        expectValidFrame(frame);
        if (!frame.extended) {
          const again = formatSlcanTransmit(frame.id, frame.data).slice(0, -1);
          expect(again.toLowerCase()).toBe(line.slice(0, again.length).toLowerCase());
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("every standard frame survives format → parse", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x7ff }), fc.uint8Array({ maxLength: 8 }), (id, data) => {
        expect(parseSlcanFrame(formatSlcanTransmit(id, data).slice(0, -1))).toEqual({ id, extended: false, data });
      }),
    );
  });

  it("the tokenizer never throws, types every token, and gives the same tokens however the stream is cut", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            anyLine.map((l) => `${l}\r`),
            anyLine,
            fc.constant("\x07"),
            fc.constant("\n"),
          ),
          { maxLength: 30 },
        ),
        fc.array(fc.nat(60), { maxLength: 10 }),
        (parts, cuts) => {
          const stream = parts.join("");
          const whole = new SlcanTokenizer().push(stream);
          whole.forEach(expectValidToken);
          const chunked = new SlcanTokenizer();
          const tokens: SlcanToken[] = [];
          let at = 0;
          for (const cut of cuts) {
            tokens.push(...chunked.push(stream.slice(at, at + cut)));
            at += cut;
          }
          tokens.push(...chunked.push(stream.slice(at)));
          expect(tokens).toEqual(whole);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("a megabyte without a line end ends as bounded malformed tokens, at once", () => {
    const tokens = new SlcanTokenizer().push("t".repeat(1 << 20));
    expect(tokens.every((t) => t.kind === "malformed" && t.text.length <= 40)).toBe(true);
  });
});

describe("Pylontech decoder under random frame contents", () => {
  it("decodes any frame contents to a sample or a DecodeError, nothing else", () => {
    const frameData = fc.uint8Array({ minLength: 0, maxLength: 8 });
    fc.assert(
      fc.property(fc.tuple(...REQUIRED_IDS.map(() => frameData)), (datas) => {
        const frames = new Map(REQUIRED_IDS.map((id, i) => [id, { data: datas[i] ?? new Uint8Array() }]));
        try {
          const { sample } = decodePylontechFrames(frames, Date.now());
          expect(typeof sample.packVoltage).toBe("number");
        } catch (err) {
          expect(err).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("SLCAN transport fed adversarial adapter output", () => {
  let pty: PtyPair;
  let device: SerialPort;
  /** What the fake adapter sends after answering the set-up commands. */
  let script: string[] = [];
  beforeAll(async () => {
    pty = await startPtyPair();
    device = new SerialPort({ path: pty.devicePath, baudRate: 115_200 });
    await new Promise<void>((resolve) => device.on("open", () => resolve()));
    // Answers every command with CR, and after the channel opens plays the current script.
    device.on("data", (chunk: Buffer) => {
      const text = chunk.toString("latin1");
      for (const command of text.split("\r").slice(0, -1)) {
        device.write("\r");
        if (command === "O") for (const piece of script) device.write(piece, "latin1");
      }
    });
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => device.close(() => resolve()));
    await pty.close();
  });

  it("every request settles within its timeout, with fresh frames or a typed error", async () => {
    const validLines = [0x351, 0x355, 0x356, 0x359].map((id) => formatSlcanTransmit(id, new Uint8Array(8)));
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            anyLine.map((l) => `${l}\r`),
            fc.string({ unit: latin1, maxLength: 50 }),
            fc.constantFrom(...validLines),
          ),
          { maxLength: 40 },
        ),
        async (pieces) => {
          script = pieces;
          const transport = new SlcanTransport({ path: pty.clientPath, commandTimeoutMs: 300 });
          try {
            const started = Date.now();
            const outcome = await transport.frames({ required: [0x351, 0x355], since: Date.now() - 1, timeoutMs: 300 }).then(
              (frames) => frames,
              (err: unknown) => err,
            );
            expect(Date.now() - started).toBeLessThan(5000);
            if (outcome instanceof Map) for (const frame of outcome.values()) expectValidFrame(frame);
            else expect([BadReplyError, DeviceTimeoutError, DeviceUnreachableError].some((type) => outcome instanceof type)).toBe(true);
          } finally {
            await transport.close();
          }
        },
      ),
      { numRuns: 25 },
    );
  }, 120_000);
});
