import { defineProject } from "vitest/config";

// The conformance suite's property test runs 20,000 operations per pair (with re-entrant handlers
// and peer writes across the bridge): give it room on a loaded machine.
export default defineProject({ test: { include: ["test/**/*.test.ts"], testTimeout: 120_000 } });
