// The hardware adapter contract lives in @imsim/core (src/hardware.ts), so that a hardware package
// needs only core for its published types. Re-exported here under the same names, so code that
// imports them from the suite keeps compiling.
export type { Capabilities, HardwareAdapter, HardwareInstance, HardwareOptions } from "@imsim/core";
