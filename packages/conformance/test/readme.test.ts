import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { DEFAULT_PROPERTY_OPERATIONS, DEFAULT_PROPERTY_SEED } from "../src/index.js";

// The figures the README and the options' doc comments give are read from the suite, so that they
// cannot drift from it. Counts of tests or cases change with every test added: the README gives none.

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const harness = readFileSync(new URL("../src/harness.ts", import.meta.url), "utf8");
/** Checks that `file` says `phrase`; on failure, names the phrase rather than printing the file. */
const says = (file: string, name: string, phrase: string) => expect(file.includes(phrase), `${name} should say: ${phrase}`).toBe(true);
const operations = DEFAULT_PROPERTY_OPERATIONS.toLocaleString("en-US");
const seed = `0x${DEFAULT_PROPERTY_SEED.toString(16)}`;

describe("the README's figures are the suite's", () => {
  test("the property test's default operation count, wherever an operation count is given", () => {
    says(readme, "packages/conformance/README.md", `The property test runs ${operations} operations`);
    says(readme, "packages/conformance/README.md", `| \`operations\` | property-test operations (default ${operations}) |`);
    says(harness, "packages/conformance/src/harness.ts", `/** Operations the property test runs (default ${operations},`);
    const counts = [...readme.matchAll(/(\d[\d,_]*) operations/g)].map((m) => m[1]);
    expect(counts.length).toBeGreaterThan(0);
    for (const count of counts) expect(count).toBe(operations);
  });

  test("the property test's default seed", () => {
    says(readme, "packages/conformance/README.md", `| \`seed\` | property-test seed (default \`${seed}\`) |`);
    says(harness, "packages/conformance/src/harness.ts", `/** Property-test seed (default ${seed},`);
  });

  test("no count of tests, cases or checks, which every added test would make wrong", () => {
    expect(/\b\d[\d,]*\+? (?:tests|cases|checks|passed|skipped)\b/.exec(readme)?.[0]).toBeUndefined();
    expect(/\b(?:over|about|some) \d+\b/.exec(readme)?.[0]).toBeUndefined();
  });
});
