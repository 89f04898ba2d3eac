import { describe as suite, expect, it } from "vitest";
import { ImsimError, checkInt, describe, isImsimError } from "../src/index.js";
import { expectCode } from "./support/helpers.js";

suite("ImsimError", () => {
  it("carries its code and puts it first in the message", () => {
    const e = new ImsimError("ENOSPC", "IMS store of 0000:6a:01.0 has no free entry (size 2048)");
    expect(e.code).toBe("ENOSPC");
    expect(e.message).toBe("ENOSPC: IMS store of 0000:6a:01.0 has no free entry (size 2048)");
    expect(e.name).toBe("ImsimError");
    expect(e).toBeInstanceOf(Error);
  });

  it("isImsimError recognises the error, and with a code only that code", () => {
    const e = new ImsimError("EBUSY", "x");
    expect(isImsimError(e)).toBe(true);
    expect(isImsimError(e, "EBUSY")).toBe(true);
    expect(isImsimError(e, "ENOENT")).toBe(false);
  });

  it("isImsimError recognises an error branded by another copy of the package (no instanceof)", () => {
    const foreign = Object.assign(new Error("EIO: from the CJS build"), { code: "EIO", [Symbol.for("imsim.error")]: true });
    expect(isImsimError(foreign)).toBe(true);
    expect(isImsimError(foreign, "EIO")).toBe(true);
    expect(isImsimError(foreign, "EINVAL")).toBe(false);
  });

  it("isImsimError rejects plain errors, look-alikes without the brand, and non-objects", () => {
    expect(isImsimError(new Error("EINVAL: x"))).toBe(false);
    expect(isImsimError({ code: "EINVAL", name: "ImsimError" })).toBe(false);
    expect(isImsimError({ [Symbol.for("imsim.error")]: "yes", code: "EINVAL" })).toBe(false);
    expect(isImsimError(null)).toBe(false);
    expect(isImsimError(undefined)).toBe(false);
    expect(isImsimError("EINVAL")).toBe(false);
    expect(isImsimError(42)).toBe(false);
  });
});

suite("checkInt", () => {
  it("returns an integer inside the bounds, bounds included", () => {
    expect(checkInt(0, 0, 10, "n")).toBe(0);
    expect(checkInt(10, 0, 10, "n")).toBe(10);
    expect(checkInt(5, 0, 10, "n")).toBe(5);
  });

  it("rejects non-integers with EINVAL naming the argument", () => {
    for (const bad of [1.5, Number.NaN, Infinity, "3", 3n, null, undefined, {}, [1]]) {
      const e = expectCode(() => checkInt(bad, 0, 10, "queue size"), "EINVAL");
      expect(e.message).toContain("queue size must be an integer");
    }
  });

  it("rejects out-of-range integers with EINVAL and the range in the message", () => {
    const low = expectCode(() => checkInt(-1, 0, 10, "index"), "EINVAL");
    expect(low.message).toContain("index -1 is outside [0, 10]");
    const high = expectCode(() => checkInt(11, 0, 10, "index"), "EINVAL");
    expect(high.message).toContain("index 11 is outside [0, 10]");
  });
});

suite("describe", () => {
  it("prints values briefly for error messages", () => {
    expect(describe("ab")).toBe('"ab"');
    expect(describe(5n)).toBe("5n");
    expect(describe([1, 2])).toBe("an array");
    expect(describe({ a: 1 })).toBe("an object");
    expect(describe(null)).toBe("null");
    expect(describe(undefined)).toBe("undefined");
    expect(describe(1.5)).toBe("1.5");
  });
});
