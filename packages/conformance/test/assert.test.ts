import { describe, expect, test } from "vitest";
import { ImsimError } from "@imsim/core";
import { deepEqual, equal, firstDifference, ok, show, throwsCode } from "../src/assert.js";

describe("assert", () => {
  test("equal reports expected and actual", () => {
    expect(() => equal(1, 2, "count")).toThrow("count: expected 2, got 1");
    expect(() => equal(Number.NaN, Number.NaN, "nan")).not.toThrow();
  });

  test("deepEqual names the path of the first difference", () => {
    expect(() => deepEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 3 }] }, "snapshot")).toThrow("snapshot: differs at .a[1].b: expected 3, got 2");
    expect(() => deepEqual([1, 2], [1, 2, 3], "list")).toThrow(/list: differs at \.length: expected 3, got 2/);
    expect(() => deepEqual({ a: 1 }, { a: 1, b: 2 }, "keys")).toThrow("keys: differs at .b: expected 2, but the key is missing");
    expect(firstDifference({ x: [1, 2] }, { x: [1, 2] })).toBeUndefined();
  });

  test("throwsCode accepts the right imsim code only", () => {
    expect(throwsCode(() => { throw new ImsimError("EBUSY", "taken"); }, "EBUSY", "call").message).toBe("EBUSY: taken");
    expect(() => throwsCode(() => { throw new ImsimError("ENOENT", "gone"); }, "EBUSY", "call")).toThrow("call: expected an ImsimError EBUSY, got ENOENT (ENOENT: gone)");
    expect(() => throwsCode(() => { throw new TypeError("x is undefined"); }, "EINVAL", "call")).toThrow("call: expected an ImsimError EINVAL, got a non-imsim TypeError: x is undefined");
    expect(() => throwsCode(() => 5, "EINVAL", "call")).toThrow("call: expected an ImsimError EINVAL, but the call returned 5");
  });

  test("ok and show", () => {
    expect(() => ok(false, "must hold")).toThrow("must hold");
    expect(show({ a: "x", b: [1, undefined], c: new Uint8Array([1, 2]) })).toBe('{ a: "x", b: [1, undefined], c: [1, 2] }');
  });
});
