// `npm test`: builds and tests every package through turbo, then prints the totals read from each
// package's vitest JSON report — per conformance matrix cell too — ending with "N passed, N failed",
// so that a run which executed nothing is visible.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

const packages = [...readdirSync("packages").map((p) => join("packages", p)), ...readdirSync("tests").map((p) => join("tests", p))];
for (const p of packages) rmSync(join(p, ".vitest-report.json"), { force: true });

const turbo = spawnSync("npx", ["turbo", "run", "test", "check:pkg", "lint", "--continue", "--output-logs=errors-only", ...process.argv.slice(2)], {
  stdio: "inherit",
  env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" },
});

let passed = 0;
let failed = 0;
let skipped = 0;
const cells = new Map();
const missing = [];
for (const p of packages) {
  const file = join(p, ".vitest-report.json");
  if (!existsSync(file)) {
    missing.push(p);
    continue;
  }
  const report = JSON.parse(readFileSync(file, "utf8"));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + (report.numTodoTests ?? 0);
  for (const suite of report.testResults) {
    for (const t of suite.assertionResults) {
      // A conformance cell is a "strategy × hardware" describe block (or test-name prefix).
      const cellOf = (text) => /^([\w.-]+ × [^›]+?)(?: › |$)/.exec(text)?.[1];
      const cell = t.ancestorTitles.map(cellOf).find(Boolean) ?? cellOf(t.title);
      if (!cell) continue;
      const c = cells.get(cell) ?? { passed: 0, failed: 0 };
      if (t.status === "passed") c.passed++;
      else if (t.status === "failed") c.failed++;
      cells.set(cell, c);
    }
  }
  console.log(`${p}: ${report.numPassedTests} passed, ${report.numFailedTests} failed`);
}
for (const [cell, c] of [...cells].sort()) console.log(`conformance ${cell}: ${c.passed} passed, ${c.failed} failed`);
for (const p of missing) console.log(`${p}: no test report (its tests did not run)`);
if (skipped) console.log(`${skipped} skipped`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(turbo.status !== 0 || failed > 0 || missing.length > 0 ? 1 : 0);
