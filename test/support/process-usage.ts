import { readFileSync } from "node:fs";

/** A line of /proc/<pid>/status in kB (VmRSS, VmHWM, ...), as bytes. */
function statusBytes(pid: number, key: string): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = new RegExp(`^${key}:\\s+(\\d+) kB$`, "m").exec(status)?.[1];
  if (kb === undefined) throw new Error(`no ${key} for process ${pid}`);
  return Number(kb) * 1024;
}

/** Resident memory of a process now, bytes. */
export function rssOf(pid: number): number {
  return statusBytes(pid, "VmRSS");
}

/** The most resident memory a process has had, bytes. */
export function peakRssOf(pid: number): number {
  return statusBytes(pid, "VmHWM");
}

/** CPU time a process (all its threads) has used, user and system, seconds (10 ms resolution). */
export function cpuSecondsOf(pid: number): number {
  // Fields after the command name (which may hold spaces, hence the last ")"): utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticksPerSecond = 100;
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}
