import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { requireBinary } from "../../test/support/binaries";

const run = promisify(execFile);
const mbpoll = requireBinary("mbpoll", "mbpoll");

/**
 * Runs mbpoll (an independent Modbus master) once with `args`; returns its output and exit code
 * (mbpoll exits non-zero on an exception or a timeout, which some tests expect).
 */
export async function runMbpoll(args: readonly string[]): Promise<{ stdout: string; code: number }> {
  try {
    const { stdout } = await run(mbpoll, ["-1", ...args], { timeout: 10_000 });
    return { stdout, code: 0 };
  } catch (err) {
    const failure = err as { stdout?: string; stderr?: string; code?: number };
    return { stdout: `${failure.stdout ?? ""}${failure.stderr ?? ""}`, code: typeof failure.code === "number" ? failure.code : -1 };
  }
}

/** `[40001]: \t0x5375` lines → { 40001: "0x5375" }. */
export function registersOf(stdout: string): Record<number, string> {
  const out: Record<number, string> = {};
  for (const match of stdout.matchAll(/^\[(\d+)\]:\s+(\S+)/gm)) out[Number(match[1])] = match[2] ?? "";
  return out;
}
