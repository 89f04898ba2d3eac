import type { HardwareAdapter } from "@imsim/core";
import { localIdxdAdapter, localNtbAdapter } from "./local-hardware.js";
import type { HardwareName } from "./matrix.js";

/** Where a hardware model came from: its package, or the bench's local IMS-store scenario. */
export type HardwareSource = "@imsim/hw-idxd" | "@imsim/hw-ntb" | "local";

export interface ResolvedHardware {
  readonly name: HardwareName;
  readonly adapter: HardwareAdapter;
  /**
   * Adapter for the heap and scale runs, which fill whole stores: the same as `adapter` except for
   * NTB, whose conformance adapter has a 64-entry MSI-X table (100,000 interrupts would take 1,563
   * NTB pairs); the bench creates the same adapter with a 2040-entry table instead (`createNtbAdapter`).
   */
  readonly fillAdapter: HardwareAdapter;
  readonly source: HardwareSource;
  /** Why the package was not used, when source is "local". */
  readonly note?: string;
}

const PACKAGES: Record<HardwareName, { pkg: "@imsim/hw-idxd" | "@imsim/hw-ntb"; exportName: string; local: HardwareAdapter }> = {
  idxd: { pkg: "@imsim/hw-idxd", exportName: "idxdAdapter", local: localIdxdAdapter },
  ntb: { pkg: "@imsim/hw-ntb", exportName: "ntbAdapter", local: localNtbAdapter },
};

function isAdapter(value: unknown): value is HardwareAdapter {
  return typeof value === "object" && value !== null && typeof (value as { create?: unknown }).create === "function";
}

/** Dynamic import that tsup's CJS output keeps as import() (the hardware packages may be ESM-only). */
async function importOptional(specifier: string): Promise<Record<string, unknown> | Error> {
  try {
    return (await import(specifier)) as Record<string, unknown>;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

/**
 * The hardware adapter for `name`: `idxdAdapter` of `@imsim/hw-idxd` or `ntbAdapter` of
 * `@imsim/hw-ntb` when the package exports it, else the bench's local scenario (an IMS store on a
 * PCI function; for NTB, peer writes carrying a DMA alias). `IMSIM_BENCH_LOCAL_HW=1` forces the local one.
 */
export async function resolveHardware(name: HardwareName): Promise<ResolvedHardware> {
  const p = PACKAGES[name];
  const local = (note: string): ResolvedHardware => ({ name, adapter: p.local, fillAdapter: p.local, source: "local", note });
  if (process.env["IMSIM_BENCH_LOCAL_HW"] === "1") return local("IMSIM_BENCH_LOCAL_HW=1");
  const mod = await importOptional(p.pkg);
  if (mod instanceof Error) return local(`${p.pkg} failed to load: ${mod.message.split("\n")[0]}`);
  const adapter = mod[p.exportName];
  if (!isAdapter(adapter)) return local(`${p.pkg} does not export ${p.exportName} yet`);
  const fillAdapter = name === "ntb" ? (wideNtbAdapter(mod) ?? adapter) : adapter;
  return { name, adapter, fillAdapter, source: p.pkg };
}

/**
 * Entries of the NTB MSI-X table in the bench's fill runs: as close to the PCI MSI-X maximum (2048)
 * as the scratchpads allow (two per published descriptor plus a header; at most 4096 scratchpads).
 */
export const WIDE_NTB_VECTORS = 2040;
const WIDE_NTB_SPADS = 4096;

/**
 * NTB with a 2040-entry MSI-X table on host A: @imsim/hw-ntb's `createNtbAdapter` with a larger
 * table and the scratchpads to publish it. Undefined when the package does not export it.
 */
function wideNtbAdapter(mod: Record<string, unknown>): HardwareAdapter | undefined {
  const create = mod["createNtbAdapter"];
  if (typeof create !== "function") return undefined;
  const adapter: unknown = (create as (o: { msixVectors: number; spads: number }) => unknown)({ msixVectors: WIDE_NTB_VECTORS, spads: WIDE_NTB_SPADS });
  return isAdapter(adapter) ? adapter : undefined;
}
