import { describe, expect, it } from "vitest";
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

// The published package ships two copies (dist/index.js for import, dist/index.cjs for require).
// A program can load both; errors must still be recognised across them without `instanceof`.
const dist = fileURLToPath(new URL("../dist/", import.meta.url));

describe("errors across the dual ESM/CJS build", () => {
  it("isImsimError from the ESM copy recognises an error thrown by the CJS copy, and back", async () => {
    expect(existsSync(`${dist}index.cjs`)).toBe(true);
    const cjs = createRequire(import.meta.url)(`${dist}index.cjs`) as typeof import("../src/index.js");
    const esm = (await import(`${dist}index.js`)) as typeof import("../src/index.js");
    expect(cjs.ImsimError).not.toBe(esm.ImsimError);

    let fromCjs: unknown;
    try {
      cjs.createSystem({ cpus: 99999 });
    } catch (e) {
      fromCjs = e;
    }
    expect(fromCjs instanceof esm.ImsimError).toBe(false);
    expect(esm.isImsimError(fromCjs)).toBe(true);
    expect(esm.isImsimError(fromCjs, "EINVAL")).toBe(true);
    expect(esm.isImsimError(fromCjs, "ENOSPC")).toBe(false);

    const fromEsm = new esm.ImsimError("EBUSY", "x");
    expect(cjs.isImsimError(fromEsm, "EBUSY")).toBe(true);
    expect(cjs.isImsimError(new Error("EBUSY: lookalike"))).toBe(false);
  });
});
