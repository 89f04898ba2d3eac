import { describe, expect, it } from "vitest";
import { busOf, formatBdf, formatRequesterId, parseBdf, requesterIdOf } from "../src/index.js";
import { expectCode } from "./support/helpers.js";

describe("PCI addresses", () => {
  it("parses DDDD:BB:DD.F into its fields", () => {
    expect(parseBdf("0000:6a:01.0")).toEqual({ domain: 0, bus: 0x6a, device: 1, fn: 0 });
    expect(parseBdf("0001:ff:1f.7")).toEqual({ domain: 1, bus: 0xff, device: 0x1f, fn: 7 });
  });

  it("accepts upper-case hex and prints it back in sysfs's lower-case form", () => {
    expect(formatBdf(parseBdf("00AB:6A:0C.3"))).toBe("00ab:6a:0c.3");
  });

  it("round-trips through formatBdf", () => {
    for (const text of ["0000:00:00.0", "0000:01:00.0", "0000:6a:01.0", "ffff:ff:1f.7", "0000:00:1c.4"]) {
      expect(formatBdf(parseBdf(text))).toBe(text);
    }
  });

  it("rejects malformed addresses and device numbers above 31 with EINVAL", () => {
    for (const bad of ["", "6a:01.0", "0000:6a:01", "0000:6a:01.8", "0000:6a:20.0", "0000:6a:2f.0", "000:6a:01.0", "0000:6a:01.0 ", 42, null, undefined]) {
      expectCode(() => parseBdf(bad), "EINVAL");
    }
  });

  it("computes the requester id as bus << 8 | device << 3 | function", () => {
    expect(requesterIdOf(parseBdf("0000:6a:01.0"))).toBe(0x6a08);
    expect(requesterIdOf(parseBdf("0000:01:00.0"))).toBe(0x0100);
    expect(requesterIdOf(parseBdf("0000:00:1f.7"))).toBe(0x00ff);
    expect(requesterIdOf(parseBdf("0000:ff:1f.7"))).toBe(0xffff);
    expect(requesterIdOf(parseBdf("0000:02:03.5"))).toBe((2 << 8) | (3 << 3) | 5);
  });

  it("prints a requester id the way the DMAR fault log does (bus:dev.fn)", () => {
    expect(formatRequesterId(0x6a08)).toBe("6a:01.0");
    expect(formatRequesterId(0xffff)).toBe("ff:1f.7");
    expect(formatRequesterId((2 << 8) | (3 << 3) | 5)).toBe("02:03.5");
  });

  it("takes the bus of a requester id from its top byte", () => {
    expect(busOf(0x6a08)).toBe(0x6a);
    expect(busOf(0x00ff)).toBe(0);
    expect(busOf(0xffff)).toBe(0xff);
  });
});
