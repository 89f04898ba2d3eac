import { createSystem, type IrqSystem, type StrategyFactory } from "@imsim/core";
import { createStrategy as subdevice } from "@imsim/strategy-subdevice";
import { createStrategy as flat } from "@imsim/strategy-flat";
import { IdxdDevice, IdxdDriver, Memory, type IdxdDeviceOptions, type IdxdDriverOptions } from "../../src/index.js";

export const STRATEGIES: [string, StrategyFactory][] = [
  ["subdevice", subdevice],
  ["flat", flat],
];

export interface Booted {
  system: IrqSystem;
  device: IdxdDevice;
  driver: IdxdDriver;
  memory: Memory;
}

/** A system with one DSA, its driver probed with `strategy`. */
export function boot(
  strategy: StrategyFactory = flat,
  options: { ir?: boolean; cpus?: number; device?: Partial<Omit<IdxdDeviceOptions, "memory">>; driver?: Partial<IdxdDriverOptions> } = {},
): Booted {
  const system = createSystem({ cpus: options.cpus ?? 4, interruptRemapping: options.ir ?? true });
  const memory = new Memory(1 << 24, "host memory");
  const device = new IdxdDevice(system, { ...(options.device ?? {}), memory });
  const driver = IdxdDriver.probe(device, { strategy, ...(options.driver ?? {}) });
  return { system, device, driver, memory };
}

/** A device without a driver, for register-level tests. */
export function bare(options: Partial<Omit<IdxdDeviceOptions, "memory">> = {}): { system: IrqSystem; device: IdxdDevice; memory: Memory } {
  const system = createSystem({ cpus: 2 });
  const memory = new Memory(1 << 20, "host memory");
  return { system, device: new IdxdDevice(system, { ...options, memory }), memory };
}

/** Bytes 0..n-1 of a deterministic pseudo-random sequence. */
export function pattern(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
