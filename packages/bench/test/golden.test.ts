import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { VIEWS } from "../src/args.js";
import { matrixCells } from "../src/matrix.js";
import { goldenPath, show } from "../src/show.js";

const root = fileURLToPath(new URL("..", import.meta.url));

// One golden file per view and cell (strategy × hardware), 4 CPUs: any byte of drift in a view's
// format, or in the state it prints, fails here. Record a deliberate change with
// `npm run build && npm run goldens -w @imsim/bench` and review the diff.
describe.each(matrixCells())("golden views of $strategy × $hardware", ({ strategy, hardware }) => {
  it.each(VIEWS)("%s is byte for byte the recorded one", (view) => {
    const file = `${root}${goldenPath(hardware, strategy, view)}`;
    expect(existsSync(file), `${file} is missing: run npm run goldens -w @imsim/bench after a build`).toBe(true);
    expect(show(hardware, strategy, view)).toBe(readFileSync(file, "utf8"));
  });
});
