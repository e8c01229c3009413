import { buildBundles } from "./cli";

/** Vitest global setup: `npm run build` once before any test file, so no two files build at once. */
export default function setup(): void {
  buildBundles();
}
