import { afterEach, describe, expect, test, vi } from "vitest";
import { STRATEGY_INTERFACE_VERSION, type StrategyFactory } from "@imsim/core";
import { createStrategy as flat } from "@imsim/strategy-flat";
import { boot } from "./support/boot.js";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the strategy's interface version", () => {
  test("a strategy built for another core interface version is warned about when the driver creates it, and still works", () => {
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    const other = STRATEGY_INTERFACE_VERSION + 1;
    // A downstream strategy: the flat design, reporting another interface version under its own name.
    const downstream: StrategyFactory = (system, host, store, options) => ({ ...flat(system, host, store, options), name: "idxd-test-downstream", interfaceVersion: other });
    const b = boot(downstream);
    const texts = warn.mock.calls.map((c) => String(c[0]));
    expect(texts.filter((t) => t.includes('"idxd-test-downstream"'))).toHaveLength(1);
    expect(texts.find((t) => t.includes('"idxd-test-downstream"'))).toContain(`interface version ${other}`);
    expect(b.driver.strategy.name).toBe("idxd-test-downstream");
    b.driver.remove();
  });

  test("a strategy of this core's version is not warned about", () => {
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    const b = boot(flat);
    expect(warn.mock.calls.filter((c) => String(c[0]).includes("interface version"))).toHaveLength(0);
    b.driver.remove();
  });
});
