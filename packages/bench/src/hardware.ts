import type { DeliveryResult, ImsStrategy, IrqSystem, Queue, QueueOptions, StrategyFactory } from "@imsim/core";
import { localIdxdAdapter, localNtbAdapter } from "./local-hardware.js";
import type { HardwareName } from "./matrix.js";

/**
 * The part of `@imsim/conformance`'s `HardwareInstance` that the bench drives. Declared here as a
 * structural subset, so that the real adapters (`idxdAdapter`, `ntbAdapter`) and the local fallbacks
 * both fit without the bench depending on the suite's types.
 */
export interface BenchHardwareInstance {
  readonly supports?: { readonly pasid?: boolean; readonly interruptRemapping?: boolean; readonly dmaAliases?: boolean; readonly peerTrigger?: boolean };
  readonly system: IrqSystem;
  readonly strategy: ImsStrategy;
  createQueue(options: QueueOptions): Queue;
  destroyQueue(queue: Queue): void;
  raise(queue: Queue, index: number): DeliveryResult;
  wireRequesterId?(queue: Queue): number;
  teardown(): void;
}

export interface BenchHardwareAdapter {
  readonly name: string;
  create(strategyFactory: StrategyFactory, options?: { cpus?: number }): BenchHardwareInstance;
}

/** Where a hardware model came from: its package, or the bench's local IMS-store scenario. */
export type HardwareSource = "@imsim/hw-idxd" | "@imsim/hw-ntb" | "local";

export interface ResolvedHardware {
  readonly name: HardwareName;
  readonly adapter: BenchHardwareAdapter;
  /**
   * Adapter for the heap and scale runs, which fill whole stores: the same as `adapter` except for
   * NTB, whose conformance adapter has a 64-entry MSI-X table (100,000 interrupts would take 1,563
   * NTB pairs); the bench opens the same transport on a 2040-entry table instead.
   */
  readonly fillAdapter: BenchHardwareAdapter;
  readonly source: HardwareSource;
  /** Why the package was not used, when source is "local". */
  readonly note?: string;
}

const PACKAGES: Record<HardwareName, { pkg: "@imsim/hw-idxd" | "@imsim/hw-ntb"; exportName: string; local: BenchHardwareAdapter }> = {
  idxd: { pkg: "@imsim/hw-idxd", exportName: "idxdAdapter", local: localIdxdAdapter },
  ntb: { pkg: "@imsim/hw-ntb", exportName: "ntbAdapter", local: localNtbAdapter },
};

function isAdapter(value: unknown): value is BenchHardwareAdapter {
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

type Ctor = new (...args: unknown[]) => unknown;

/**
 * NTB with a 2048-entry MSI-X table on host A, built from @imsim/hw-ntb's createNtbPair and
 * NtbTransport exactly as its ntbAdapter does (only the table and scratchpad sizes differ). Only what the fill
 * runs use: the system, the strategy, teardown. Undefined when those exports are missing.
 */
function wideNtbAdapter(mod: Record<string, unknown>): BenchHardwareAdapter | undefined {
  const createNtbPair = mod["createNtbPair"];
  const NtbTransport = mod["NtbTransport"];
  if (typeof createNtbPair !== "function" || typeof NtbTransport !== "function") return undefined;
  return {
    name: "ntb (2048-entry table)",
    create(factory, options) {
      const cpus = options?.cpus ?? 4;
      const pair = (createNtbPair as (o: unknown) => { a: unknown; b: unknown; dispose(): void })({
        a: { cpus, interruptRemapping: true, msixVectors: WIDE_NTB_VECTORS },
        b: { cpus: 1, interruptRemapping: true, msixVectors: 1 },
        // Two scratchpads per published descriptor plus the header, as ntbAdapter sizes them.
        spads: WIDE_NTB_SPADS,
      });
      const t = new (NtbTransport as Ctor)(pair.a, factory) as { strategy: ImsStrategy; dispose(): void };
      const unsupported = (): never => {
        throw new Error("the wide NTB adapter serves only the heap and scale runs");
      };
      return {
        system: t.strategy.system,
        strategy: t.strategy,
        createQueue: (o) => t.strategy.createQueue(o),
        destroyQueue: (q) => t.strategy.destroyQueue(q),
        raise: unsupported,
        teardown() {
          t.dispose();
          pair.dispose();
        },
      };
    },
  };
}
