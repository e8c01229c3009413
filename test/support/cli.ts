import { type ChildProcessByStdio, execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import type { Readable } from "node:stream";

/** The repository root: the default working directory, and where entry paths are relative to. */
export const REPO_ROOT = join(import.meta.dirname, "..", "..");

/**
 * How a TypeScript entry point is started:
 * - `npx`: `npx tsx <entry>`, as a user types it (npm exec does not pass signals on to its child);
 * - `node`: one node process with tsx's loader (`node --import tsx <entry>`), which gets signals itself;
 * - `tsx`: the `node_modules/.bin/tsx` launcher (it passes signals on to the node process it starts);
 * - `built`: plain node on a bundle of `npm run build` (`<package>/dist/main.js`), as shipped.
 */
export type Launcher = "npx" | "node" | "tsx" | "built";

export interface RunScriptOptions {
  via?: Launcher;
  /** The process's whole environment: spread `process.env` in to inherit it, leave it out to isolate the test. */
  env: NodeJS.ProcessEnv;
  /** Working directory; the repository root when not given. */
  cwd?: string;
  /** Node.js flags before the entry (the `node` launcher only), e.g. a part's shipped runtime flags. */
  nodeFlags?: readonly string[];
}

export interface RunningScript {
  child: ChildProcessByStdio<null, Readable, Readable>;
  stdout(): string;
  stderr(): string;
  /** stdout and stderr together, chunks in the order they arrived. */
  output(): string;
  /** Resolves with the exit code (null when a signal ended the process). */
  exited: Promise<number | null>;
}

function launcher(via: Launcher): [string, string[]] {
  switch (via) {
    case "npx":
      return ["npx", ["tsx"]];
    case "node":
      return [process.execPath, ["--import", "tsx"]];
    case "tsx":
      return [join(REPO_ROOT, "node_modules", ".bin", "tsx"), []];
    case "built":
      return [process.execPath, ["--enable-source-maps"]];
  }
}

/** Runs a TypeScript entry point of this repository as a command and collects what it prints. */
export function runScript(entry: string, args: string[], options: RunScriptOptions): RunningScript {
  const via = options.via ?? "node";
  if (options.nodeFlags?.length && via !== "node" && via !== "built") throw new Error("nodeFlags need the node or built launcher");
  const [command, launcherArgs] = launcher(via);
  const prefix = [...(options.nodeFlags ?? []), ...launcherArgs];
  const child = spawn(command, [...prefix, entry, ...args], { cwd: options.cwd ?? REPO_ROOT, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, output: () => output, exited };
}

/** `npm run build`: the bundles the `built` launcher runs (esbuild, a few seconds). */
export function buildBundles(): void {
  execFileSync("npm", ["run", "build", "--silent"], { cwd: REPO_ROOT, stdio: "pipe" });
}
