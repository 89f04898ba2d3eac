#!/usr/bin/env node
// The `imsim` bin. It is a tracked file, not the build output, so that it exists when `npm ci`
// links bins (before anything is built); it loads the built CLI from dist/.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const cli = new URL("../dist/cli.js", import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  process.stderr.write(`imsim: ${fileURLToPath(cli)} is missing: run 'npm run build' (at the repository root) first\n`);
  process.exit(1);
}
await import(cli.href);
