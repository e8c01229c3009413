import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface PtyPair {
  /** The end the simulator opens. */
  devicePath: string;
  /** The end a client (mbpoll, the edge agent, an SLCAN reader) opens. */
  clientPath: string;
  close(): Promise<void>;
}

export class PtyPairError extends Error {
  override readonly name = "PtyPairError";
}

/**
 * A connected pseudo-terminal pair made by socat (Debian package `socat`), as a null-modem cable:
 * bytes written to one end come out of the other. The links live in a fresh temporary directory
 * (or `dir`) as `device` and `client`.
 */
export async function startPtyPair(options: { dir?: string; socat?: string; timeoutMs?: number } = {}): Promise<PtyPair> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "bms-pty-"));
  const devicePath = join(dir, "device");
  const clientPath = join(dir, "client");
  const child: ChildProcess = spawn(options.socat ?? "socat", ["-d", "-d", `pty,raw,echo=0,link=${devicePath}`, `pty,raw,echo=0,link=${clientPath}`], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    child.once("exit", () => resolve());
    child.once("error", () => resolve());
  });
  const cleanup = () => {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };
  let spawnError: Error | undefined;
  child.once("error", (err) => {
    spawnError = err;
  });
  const deadline = performance.now() + (options.timeoutMs ?? 5000);
  // socat creates both links, then logs "starting data transfer loop": only then do bytes flow.
  while (!(existsSync(devicePath) && existsSync(clientPath) && stderr.includes("starting data transfer loop"))) {
    if (spawnError || child.exitCode !== null || performance.now() > deadline) {
      child.kill();
      cleanup();
      const why = spawnError ? `${spawnError.message} (install the Debian package socat)` : stderr.trim() || "timed out";
      throw new PtyPairError(`socat could not make a pseudo-terminal pair: ${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  let closing: Promise<void> | undefined;
  return {
    devicePath,
    clientPath,
    close() {
      closing ??= (async () => {
        child.kill();
        await exited;
        cleanup();
      })();
      return closing;
    },
  };
}
