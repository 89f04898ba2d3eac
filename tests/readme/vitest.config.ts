import { defineProject } from "vitest/config";

// Real commands, two of them a quick `imsim compare` (about 30 s each): minutes, not milliseconds.
export default defineProject({ test: { include: ["test/**/*.test.ts"], testTimeout: 240_000, hookTimeout: 240_000 } });
