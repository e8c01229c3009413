import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, extname, join, relative, sep } from "node:path";
import { packageDir } from "@bms/shared";
import type { FastifyInstance } from "fastify";

const PUBLIC_DIR = join(packageDir("@bms/live"), "public");

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/** uPlot's ES module and stylesheet, from node_modules (no CDN): the console imports them from /vendor/uplot/. */
function vendorFiles(): { route: string; path: string }[] {
  const uplot = dirname(createRequire(join(packageDir("@bms/live"), "package.json")).resolve("uplot/dist/uPlot.esm.js"));
  return [
    { route: "/vendor/uplot/uPlot.esm.js", path: join(uplot, "uPlot.esm.js") },
    { route: "/vendor/uplot/uPlot.min.css", path: join(uplot, "uPlot.min.css") },
  ];
}

/** Every file under public/ (the console's own ES modules, styles, icon), by route. */
function publicFiles(dir = PUBLIC_DIR): { route: string; path: string }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return publicFiles(path);
    if (!(extname(entry.name) in TYPES)) return [];
    const route = `/${relative(PUBLIC_DIR, path).split(sep).join("/")}`;
    return [{ route: route === "/index.html" ? "/" : route, path }];
  });
}

// Same-origin only; 'self' covers the socket.io websocket on the same host. uPlot sets element
// styles from script (the CSSOM), which 'style-src' does not restrict.
const CSP =
  "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/**
 * The console's files, read once at start into a fixed table of routes: no request path ever
 * reaches the file system. The console is plain ES modules, served as they are.
 */
export function consoleRoutes(app: FastifyInstance): void {
  for (const asset of [...publicFiles(), ...vendorFiles()]) {
    const body = readFileSync(asset.path);
    const type = TYPES[extname(asset.path)] ?? "application/octet-stream";
    app.get(asset.route, async (_request, reply) =>
      reply
        .type(type)
        .header("content-security-policy", CSP)
        .header("x-content-type-options", "nosniff")
        .header("referrer-policy", "no-referrer")
        .header("cache-control", "no-cache")
        .send(body),
    );
  }
}
