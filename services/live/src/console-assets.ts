import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageDir } from "@bms/shared";
import type { FastifyInstance } from "fastify";

const PUBLIC_DIR = join(packageDir("@bms/live"), "public");

/** The console's files: a fixed list read once at start, so no request path ever reaches the file system. */
const ASSETS = [
  { route: "/", file: "index.html", type: "text/html; charset=utf-8" },
  { route: "/console.js", file: "console.js", type: "text/javascript; charset=utf-8" },
  { route: "/pack-health.js", file: "pack-health.js", type: "text/javascript; charset=utf-8" },
  { route: "/console.css", file: "console.css", type: "text/css; charset=utf-8" },
] as const;

// Same-origin only; 'self' covers the socket.io websocket on the same host.
const CSP =
  "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

export function consoleRoutes(app: FastifyInstance): void {
  for (const asset of ASSETS) {
    const body = readFileSync(join(PUBLIC_DIR, asset.file));
    app.get(asset.route, async (_request, reply) =>
      reply
        .type(asset.type)
        .header("content-security-policy", CSP)
        .header("x-content-type-options", "nosniff")
        .header("referrer-policy", "no-referrer")
        .header("cache-control", "no-cache")
        .send(body),
    );
  }
}
