import { type ChildProcess, spawn } from "node:child_process";

export interface RunningProcess {
  child: ChildProcess;
  /** What it printed so far (stdout and stderr), for error messages. */
  output(): string;
  stop(): Promise<void>;
}

export interface StartProcessOptions {
  /** Run as this user and group (the tests run as root; some servers refuse to). */
  uid?: number;
  gid?: number;
  /** The signal `stop()` sends first. @default "SIGTERM" */
  stopSignal?: NodeJS.Signals;
  /** The environment. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** Starts a server binary; its output is kept for the failure message if it dies early. */
export function startProcess(binary: string, args: string[], options: StartProcessOptions = {}): RunningProcess {
  const { stopSignal = "SIGTERM", ...rest } = options;
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"], ...rest });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return {
    child,
    output: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill(stopSignal);
      }),
  };
}
