import { defineProject } from "vitest/config";

// The property test of each matrix cell runs 20,000 operations (more with IMSIM_PROPERTY_OPS).
export default defineProject({ test: { include: ["test/**/*.test.ts"], testTimeout: 120_000 } });
