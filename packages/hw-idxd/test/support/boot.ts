import { createSystem, type HandlerErrorRecord, type IrqSystem, type ResourceSnapshot, type StrategyFactory } from "@imsim/core";
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
  options: {
    ir?: boolean;
    /** The remapping unit is a virtual IOMMU's (no IMS domain). */
    virtualIommu?: boolean;
    cpus?: number;
    device?: Partial<Omit<IdxdDeviceOptions, "memory">>;
    driver?: Partial<IdxdDriverOptions>;
    onHandlerError?: (record: HandlerErrorRecord) => void;
  } = {},
): Booted {
  const system = createSystem({
    cpus: options.cpus ?? 4,
    interruptRemapping: options.ir ?? true,
    ...(options.virtualIommu ? { virtualIommu: true } : {}),
    ...(options.onHandlerError ? { onHandlerError: options.onHandlerError } : {}),
  });
  const memory = new Memory(1 << 24, "host memory");
  const device = new IdxdDevice(system, { ...(options.device ?? {}), memory });
  const driver = IdxdDriver.probe(device, { strategy, ...(options.driver ?? {}) });
  return { system, device, driver, memory };
}

/**
 * What the system holds with `devices` PCI devices and nothing else: its boot snapshot (the legacy
 * and DMAR interrupts with their vectors, IRTEs and actions) plus the devices.
 */
export function bootState(system: IrqSystem, devices = 0): ResourceSnapshot {
  return { ...system.bootSnapshot, devices };
}

/** Actions beyond the ones the system booted with (legacy, DMAR). */
export function deviceActions(system: IrqSystem): number {
  return system.snapshot().actions - system.bootSnapshot.actions;
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

/**
 * Everything a failed operation must leave as it was, read through public interfaces: every BAR0
 * register (capabilities, GENCFG, CMD, CMDSTS, SWERR, MSIXPERM, GRPCFG, WQCFG, the IMS table), the
 * MSI-X table and the pending bits of both tables, the device's queues and statistics, the
 * strategy's queues and records, and the system's resources and work counters.
 */
export function deviceState(b: Booted): unknown {
  const { device, driver, system } = b;
  return {
    ...registerState(b),
    wqs: Array.from({ length: device.caps.numWqs }, (_, w) => [device.wqEnabled(w), device.occupancy(w)]),
    deviceStats: { ...device.stats },
    boundPasids: device.boundPasids,
    queues: driver.strategy.queues().map((q) => q.name),
    records: driver.strategy.records(),
    snapshot: system.snapshot(),
    work: workCounters(system),
  };
}

/** `system.stats` without the delivery outcomes (delivered, held, faulted, spurious): the work counters. */
export function workCounters(system: IrqSystem): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(system.stats)) if (!["delivered", "held", "faulted", "spurious"].includes(k)) out[k] = v;
  return out;
}

/** BAR0 read dword by dword, the MSI-X table and both tables' pending bits. */
export function registerState(b: Booted): { bar0: number[]; msix: unknown[]; imsPending: boolean[] } {
  const { device } = b;
  const bar0: number[] = [];
  for (let off = 0; off < device.size; off += 4) bar0.push(device.read(off, 4));
  const table = (store: typeof device.msix) => Array.from({ length: store.size }, (_, i) => [store.addressLo(i), store.addressHi(i), store.data(i), store.isMasked(i), store.isPending(i), store.pasid(i)]);
  return {
    bar0,
    msix: table(device.msix),
    imsPending: device.ims ? Array.from({ length: device.ims.size }, (_, i) => device.ims!.isPending(i)) : [],
  };
}
