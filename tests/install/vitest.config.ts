import { defineProject } from "vitest/config";

// npm pack + npm install + node runs: minutes, not milliseconds.
export default defineProject({ test: { include: ["test/**/*.test.ts"], testTimeout: 240_000, hookTimeout: 240_000 } });
