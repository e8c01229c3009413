import { createServer } from "node:net";

/**
 * The port to hand modbus-serial's ServerTCP: it treats 0 as "use 502", so for 0 this asks the OS
 * for a free port on `host` first (a tiny race with other processes, acceptable for tests and demos).
 */
export function pickListenPort(host: string, port: number): Promise<number> {
  if (port !== 0) return Promise.resolve(port);
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once("error", reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      const picked = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(picked));
    });
  });
}
