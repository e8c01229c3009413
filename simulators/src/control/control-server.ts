import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { extname } from "node:path";
import { ConfigError, createLogger, formatIssues, isAddressInUse, PortInUseError } from "@bms/shared";
import { z } from "zod";
import { FaultSchema, InvalidFaultError } from "../faults";
import { loadScenario, parseScenario, readScenarioFile, type Scenario } from "../scenario/scenario-file";
import { UnknownPackError } from "../scenario/scenario-runner";
import { NotInjectableError, type SimulatorRuntime } from "./simulator-runtime";

/**
 * Run-time control of a running simulator over HTTP (JSON in, JSON out), so a demo can start a
 * scenario or inject a fault while an engineer watches:
 *
 *   GET    /status                          packs, faults, simulated time, scenario
 *   POST   /scenario  { name } | { file } | { scenario }   start a scenario (fresh packs)
 *   POST   /stop                            stop the clock (packs keep answering, frozen)
 *   POST   /packs/:unitId/faults  { fault } inject a fault now
 *   DELETE /packs/:unitId/faults            remove the pack's faults
 *   POST   /packs/:unitId/reset-alarms      same as writing 1 to AlmRst
 *
 * Every error is a 4xx JSON body `{ error, problems? }`; nothing a client sends can crash it.
 */

export interface ControlServerOptions {
  /** @default "127.0.0.1" (control is for the machine running the demo, not the network) */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** When set, every request needs `Authorization: Bearer <token>`. @default none */
  token?: string;
}

export interface RunningControlServer {
  port: number;
  close(): Promise<void>;
}

/** Largest request body read, bytes. */
export const MAX_CONTROL_BODY_BYTES = 64 * 1024;

const ScenarioRequest = z.union([
  z.object({ name: z.string().min(1).max(64) }).strict(),
  z.object({ file: z.string().min(1).max(4096) }).strict(),
  z.object({ scenario: z.unknown() }).strict(),
]);
const FaultRequest = z.object({ fault: FaultSchema }).strict();

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problems?: readonly string[],
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > MAX_CONTROL_BODY_BYTES) {
      reject(new HttpError(413, `the body is larger than ${MAX_CONTROL_BODY_BYTES} bytes`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on("data", (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > MAX_CONTROL_BODY_BYTES) {
        failed = true;
        reject(new HttpError(413, `the body is larger than ${MAX_CONTROL_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on("error", (err) => reject(new HttpError(400, `cannot read the body: ${err.message}`)));
    req.on("end", () => {
      if (failed) return;
      const text = Buffer.concat(chunks).toString("utf8").trim();
      if (text === "") return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch (err) {
        reject(new HttpError(400, `the body is not valid JSON: ${(err as Error).message}`));
      }
    });
  });
}

function validate<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body, { reportInput: true });
  if (!result.success) throw new HttpError(400, "invalid request body", formatIssues(result.error.issues));
  return result.data;
}

function unitIdOf(text: string): number {
  if (!/^\d{1,3}$/.test(text)) throw new HttpError(400, `unit ID must be an integer 1–247, got ${JSON.stringify(text.slice(0, 20))}`);
  return Number(text);
}

function authorised(req: IncomingMessage, token: string | undefined): boolean {
  if (token === undefined) return true;
  const header = req.headers.authorization ?? "";
  const given = Buffer.from(header.startsWith("Bearer ") ? header.slice(7) : "");
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

function scenarioFrom(request: z.output<typeof ScenarioRequest>): Scenario {
  if ("name" in request) return loadScenario(request.name, "name");
  if ("file" in request) {
    // Only scenario files: the control interface must not become a way to read other files.
    if (![".yaml", ".yml", ".json"].includes(extname(request.file).toLowerCase()))
      throw new HttpError(400, "file: expected a .yaml, .yml or .json scenario file");
    return readScenarioFile(request.file);
  }
  return parseScenario(request.scenario, "scenario");
}

async function route(runtime: SimulatorRuntime, req: IncomingMessage): Promise<[number, unknown]> {
  const url = new URL(req.url ?? "/", "http://control");
  const parts = url.pathname.split("/").filter(Boolean);
  const method = req.method ?? "GET";
  const only = (allowed: string) => {
    if (method !== allowed) throw new HttpError(405, `${method} is not allowed on ${url.pathname} (use ${allowed})`);
  };
  if (parts.length === 1 && parts[0] === "status") {
    only("GET");
    return [200, runtime.status()];
  }
  if (parts.length === 1 && parts[0] === "scenario") {
    only("POST");
    const scenario = scenarioFrom(validate(ScenarioRequest, await readBody(req)));
    runtime.startScenario(scenario);
    return [201, runtime.status()];
  }
  if (parts.length === 1 && parts[0] === "stop") {
    only("POST");
    runtime.stop();
    return [200, runtime.status()];
  }
  if (parts.length === 3 && parts[0] === "packs" && parts[2] === "faults") {
    const unitId = unitIdOf(parts[1] ?? "");
    if (method === "POST") {
      const { fault } = validate(FaultRequest, await readBody(req));
      return [201, { unitId, fault: runtime.injectFault(unitId, fault) }];
    }
    if (method === "DELETE") {
      runtime.clearFaults(unitId);
      return [200, { unitId, faults: [] }];
    }
    throw new HttpError(405, `${method} is not allowed on ${url.pathname} (use POST or DELETE)`);
  }
  if (parts.length === 3 && parts[0] === "packs" && parts[2] === "reset-alarms") {
    only("POST");
    const unitId = unitIdOf(parts[1] ?? "");
    runtime.resetAlarms(unitId);
    return [200, { unitId, reset: "requested" }];
  }
  throw new HttpError(404, `no such endpoint: ${method} ${url.pathname}`);
}

/** Maps what can go wrong with a request onto a status and a JSON body. */
function errorResponse(err: unknown): [number, { error: string; problems?: readonly string[] }] {
  if (err instanceof HttpError) return [err.status, { error: err.message, ...(err.problems ? { problems: err.problems } : {}) }];
  if (err instanceof UnknownPackError) return [404, { error: err.message }];
  if (err instanceof InvalidFaultError) return [400, { error: "invalid fault", problems: err.problems }];
  if (err instanceof ConfigError) return [400, { error: `invalid ${err.source}`, problems: err.problems }];
  if (err instanceof NotInjectableError) return [409, { error: err.message }];
  return [500, { error: "internal error" }];
}

/** Starts the control interface over `runtime`. A port in use is a PortInUseError naming --control-port. */
export async function startControlServer(runtime: SimulatorRuntime, options: ControlServerOptions): Promise<RunningControlServer> {
  const log = createLogger("simulator-control");
  const server: Server = createServer((req, res) => {
    if (!authorised(req, options.token)) {
      req.resume();
      send(res, 401, { error: "missing or wrong bearer token" });
      return;
    }
    route(runtime, req).then(
      ([status, body]) => send(res, status, body),
      (err: unknown) => {
        const [status, body] = errorResponse(err);
        if (status >= 500) log.error({ err }, "control request failed");
        else log.info({ status, error: body.error, url: req.url, method: req.method }, "control request rejected");
        if (!res.headersSent) send(res, status, body);
        // A body cut off at the limit: answer, then drop the rest of the upload.
        if (status === 413) req.destroy();
      },
    );
  });
  server.on("clientError", (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => reject(isAddressInUse(err) ? new PortInUseError(options.port, "--control-port") : err));
    server.listen(options.port, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  log.info({ port, auth: options.token !== undefined }, "control interface listening");
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
