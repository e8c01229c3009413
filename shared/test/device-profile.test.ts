import { describe, expect, it } from "vitest";
import {
  DeviceProfile,
  decodeProfileText,
  decodeProfileValue,
  encodeProfileText,
  encodeProfileValue,
  profileBlocks,
  type RegisterType,
} from "../src/device-profile";

const messages = (input: unknown) => {
  const result = DeviceProfile.safeParse(input);
  if (result.success) return [];
  return result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
};

describe("profile values", () => {
  it.each([
    // 0x11223344 as the four byte orders put it on the wire
    ["ABCD", [0x1122, 0x3344]],
    ["CDAB", [0x3344, 0x1122]],
    ["BADC", [0x2211, 0x4433]],
    ["DCBA", [0x4433, 0x2211]],
  ] as const)("uint32 in %s", (byteOrder, words) => {
    const spec = { type: "uint32" as const, byteOrder };
    expect(encodeProfileValue(0x11223344, spec)).toEqual(words);
    expect(decodeProfileValue(words, spec)).toBe(0x11223344);
  });

  it("16-bit values swap their bytes under BADC and DCBA", () => {
    expect(encodeProfileValue(0x1234, { type: "uint16", byteOrder: "BADC" })).toEqual([0x3412]);
    expect(decodeProfileValue([0x3412], { type: "uint16", byteOrder: "DCBA" })).toBe(0x1234);
    expect(decodeProfileValue([0xfffb], { type: "int16" })).toBe(-5);
  });

  it("float32, int32, scales, scale factors and offsets", () => {
    expect(decodeProfileValue(encodeProfileValue(48.25, { type: "float32", byteOrder: "CDAB" }), { type: "float32", byteOrder: "CDAB" })).toBe(48.25);
    expect(decodeProfileValue(encodeProfileValue(-12.5, { type: "int32", scale: 0.01 }), { type: "int32", scale: 0.01 })).toBe(-12.5);
    expect(decodeProfileValue([3301], { type: "uint16", scaleFactor: -3 })).toBe(3.301);
    // a scale factor read from the device wins over none
    expect(decodeProfileValue([3301], { type: "uint16" }, -2)).toBe(33.01);
    expect(decodeProfileValue([2982], { type: "uint16", scale: 0.1, offset: -273.1 })).toBe(25.1);
  });

  it("scaled integers are the decimal they stand for, without binary noise (3 × 0.1 is 0.3), over the whole 16-bit range", () => {
    expect(decodeProfileValue([3], { type: "uint16", scale: 0.1 })).toBe(0.3);
    expect(decodeProfileValue([0xffff], { type: "int16", scaleFactor: -1 })).toBe(-0.1);
    expect(decodeProfileValue([7], { type: "uint16", scale: 3 })).toBe(21);
    expect(decodeProfileValue([0, 3], { type: "uint32", scaleFactor: -2 })).toBe(0.03);
    for (let raw = 0; raw <= 0xffff; raw += 31) {
      for (const exponent of [-1, -2, -3, -4]) {
        expect(decodeProfileValue([raw], { type: "uint16", scaleFactor: exponent })).toBe(Number((raw * 10 ** exponent).toPrecision(12)));
      }
    }
  });

  it.each([
    ["sunssf", 0x8000],
    ["enum16", 0xffff],
    ["bitfield16", 0xffff],
    ["acc16", 0],
  ] as const)("a SunSpec %s reads 'not implemented' as no value", (type, raw) => {
    expect(decodeProfileValue([raw], { type: type as RegisterType })).toBeUndefined();
  });

  it("a declared `missing` value and a NaN float are no value", () => {
    expect(decodeProfileValue([0xffff, 0xffff], { type: "uint32", missing: 0xffffffff })).toBeUndefined();
    expect(decodeProfileValue([0x7fc0, 0x0000], { type: "float32" })).toBeUndefined();
  });

  it("strings: two characters a register, NUL padded, swapped under BADC; control characters dropped", () => {
    const words = encodeProfileText("SN-42", { type: "string", size: 4 });
    expect(words).toEqual([0x534e, 0x2d34, 0x3200, 0]);
    expect(decodeProfileText(words, { type: "string" })).toBe("SN-42");
    expect(decodeProfileText(encodeProfileText("1.2.3", { type: "string", size: 3, byteOrder: "BADC" }), { type: "string", byteOrder: "BADC" })).toBe("1.2.3");
    expect(decodeProfileText([0x4107, 0x1b42], { type: "string" })).toBe("AB");
  });
});

describe("profile schema", () => {
  const base = { name: "p" };

  it("accepts a full profile and fills in defaults", () => {
    const p = DeviceProfile.parse({
      ...base,
      points: [
        { field: "soc", address: 10, type: "uint16" },
        { meta: "serial", address: 20, type: "string", size: 4 },
      ],
    });
    expect(p.registers).toBe("holding");
    expect(p.maxGap).toBe(16);
    expect(p.points[0]?.byteOrder).toBe("ABCD");
  });

  it.each([
    ["both field and meta", { points: [{ field: "soc", meta: "serial", address: 1, type: "uint16" }] }, /exactly one of field .* or meta/],
    ["neither field nor meta", { points: [{ address: 1, type: "uint16" }] }, /exactly one of field/],
    ["a text meta field that is not a string", { points: [{ meta: "serial", address: 1, type: "uint16" }] }, /points\.0\.type: meta serial is text/],
    ["a string without size", { points: [{ meta: "model", address: 1, type: "string" }] }, /points\.0\.size: a string needs size/],
    ["two scales", { points: [{ field: "soc", address: 1, type: "uint16", scale: 0.1, scaleFactorRegister: 9 }] }, /one of scale/],
    [
      "bits on a field that is no alarm",
      { points: [{ field: "soc", address: 1, type: "uint16", bits: { 0: "OVER_VOLT_ALARM" } }] },
      /bits are for field bmsAlarms/,
    ],
    ["an alarm code outside the vocabulary", { points: [{ field: "bmsAlarms", address: 1, type: "uint16", bits: { 0: "MELTDOWN" } }] }, /points\.0\.bits\.0/],
    [
      "a bit beyond a 16-bit register",
      { points: [{ field: "bmsAlarms", address: 1, type: "uint16", bits: { 20: "OVER_VOLT_ALARM" } }] },
      /bit 20 does not exist/,
    ],
    ["alarms as a float", { points: [{ field: "bmsAlarms", address: 1, type: "float32" }] }, /bmsAlarms is a bitfield/],
    [
      "one field fed twice",
      {
        points: [
          { field: "soc", address: 1, type: "uint16" },
          { field: "soc", address: 2, type: "uint16" },
        ],
      },
      /soc is already fed by points\.0/,
    ],
    [
      "overlapping values",
      {
        points: [
          { field: "soc", address: 1, type: "uint32" },
          { field: "soh", address: 2, type: "uint16" },
        ],
      },
      /overlaps/,
    ],
    [
      "a scale-factor register inside a value",
      {
        points: [
          { field: "soc", address: 1, type: "uint32" },
          { field: "soh", address: 5, type: "uint16", scaleFactorRegister: 2 },
        ],
      },
      /is inside points\.0/,
    ],
    [
      "a point outside every declared block",
      { blocks: [{ address: 0, count: 10 }], points: [{ field: "soc", address: 12, type: "uint16" }] },
      /lie in no declared block/,
    ],
    [
      "a point in a block of the other space",
      { blocks: [{ registers: "input", address: 0, count: 10 }], points: [{ field: "soc", address: 2, type: "uint16" }] },
      /\(holding\) lie in no declared block/,
    ],
    ["a value past register 65535", { points: [{ field: "cycleCount", address: 65535, type: "uint32" }] }, /past register 65535/],
    ["a stride shorter than the element", { arrays: [{ field: "cellVoltages", address: 0, count: 4, stride: 1, type: "uint32" }] }, /stride 1 is shorter/],
    ["an unknown key", { points: [{ field: "soc", address: 1, type: "uint16", colour: "red" }] }, /colour/],
  ])("refuses %s, naming the field", (_what, extra, expected) => {
    expect(messages({ ...base, ...extra }).join("\n")).toMatch(expected);
  });

  it("lets holding and input registers share addresses: they are two spaces", () => {
    expect(
      messages({
        ...base,
        points: [
          { field: "soc", address: 1, type: "uint16" },
          { field: "soh", address: 1, type: "uint16", registers: "input" },
        ],
      }),
    ).toEqual([]);
  });
});

describe("profile blocks", () => {
  it("derives blocks from the points, merged across gaps of up to maxGap, per register space", () => {
    const p = DeviceProfile.parse({
      name: "p",
      maxGap: 4,
      points: [
        { field: "soc", address: 100, type: "uint16" },
        { field: "soh", address: 105, type: "uint16" },
        { field: "current", address: 111, type: "int16" },
        { field: "packVoltage", address: 100, type: "uint32", registers: "input", scaleFactorRegister: 103 },
      ],
    });
    expect(profileBlocks(p)).toEqual([
      { space: "holding", from: 100, to: 106 },
      { space: "holding", from: 111, to: 112 },
      { space: "input", from: 100, to: 104 },
    ]);
  });

  it("uses the declared blocks as they are", () => {
    const p = DeviceProfile.parse({ name: "p", blocks: [{ address: 0, count: 200 }], points: [{ field: "soc", address: 5, type: "uint16" }] });
    expect(profileBlocks(p)).toEqual([{ space: "holding", from: 0, to: 200 }]);
  });
});
