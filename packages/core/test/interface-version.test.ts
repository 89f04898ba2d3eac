import { afterEach, describe, expect, it, vi } from "vitest";
import { STRATEGY_INTERFACE_VERSION, checkInterfaceVersion } from "../src/index.js";

describe("the strategy interface version", () => {
  afterEach(() => vi.restoreAllMocks());

  it("accepts a strategy built for this core without a warning", () => {
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => {});
    expect(checkInterfaceVersion({ name: "same", interfaceVersion: STRATEGY_INTERFACE_VERSION })).toBe(true);
    expect(warn).not.toHaveBeenCalled();
  });

  it("warns once per strategy name on a mismatch, naming both versions", () => {
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => {});
    const old = { name: "downstream-old", interfaceVersion: STRATEGY_INTERFACE_VERSION + 1 };
    expect(checkInterfaceVersion(old)).toBe(false);
    expect(checkInterfaceVersion(old)).toBe(false);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toContain(`interface version ${STRATEGY_INTERFACE_VERSION + 1}`);
    expect(String(warn.mock.calls[0]![0])).toContain(`implements ${STRATEGY_INTERFACE_VERSION}`);
  });
});
