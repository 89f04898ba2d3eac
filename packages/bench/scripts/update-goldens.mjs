#!/usr/bin/env node
// Rewrites the golden files of `imsim show` (test/golden/<hardware>/<strategy>/<view>.txt) from the
// built package: run `npm run build` first, then `npm run goldens -w @imsim/bench`. Tests never
// write these files; they fail on any byte that differs, and this script is how a deliberate format
// change is recorded. Review the diff before committing it.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { VIEWS, goldenPath, matrixCells, show } from "../dist/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
let n = 0;
for (const { hardware, strategy } of matrixCells()) {
  for (const view of VIEWS) {
    const file = join(root, goldenPath(hardware, strategy, view));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, show(hardware, strategy, view));
    n++;
  }
}
console.log(`wrote ${n} golden files under ${join(root, "test/golden")}`);
