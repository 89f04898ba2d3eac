import { defineProject } from "vitest/config";

// The conformance suite's property test runs 20,000 operations per pair: give it room.
export default defineProject({ test: { include: ["test/**/*.test.ts"], testTimeout: 120_000 } });
