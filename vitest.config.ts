import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/test/**/*.test.ts"],
    exclude: ["**/node_modules/**"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    // The bundles of `npm run build`, once for the whole run (tests that run a part as shipped use them).
    globalSetup: ["test/support/build-once.ts"],
    env: { LOG_LEVEL: "warn" },
  },
});
