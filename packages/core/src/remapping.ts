// drivers/iommu/intel/irq_remapping.c: Intel interrupt remapping as a domain of the hierarchy
// (INTEL-IR-<n>, between the devices' MSI domains and VECTOR). Its IRTEs hold the vector and
// destination of each interrupt and the source-id check; VT-d IRTEs have no PASID field.
import { ImsimError } from "./errors.js";
import { busOf } from "./pci-id.js";
import type { Device } from "./device.js";
import {
  DOMAIN_BUS_DMAR,
  IRQ_DOMAIN_FLAG_HIERARCHY,
  IRQ_DOMAIN_FLAG_ISOLATED_MSI,
  IRQ_DOMAIN_FLAG_MSI_PARENT,
  IRQ_DOMAIN_NAME_ALLOCATED,
  IRQ_SET_MASK_OK_DONE,
  IrqDomain,
  allocParent,
  freeParent,
  irqDataAt,
  type IrqAllocInfo,
  type IrqChip,
  type IrqData,
} from "./irqdomain.js";
import type { IrqDesc } from "./irqdesc.js";
import { composeRemappable } from "./msi-message.js";
import { MSI_FLAG_PCI_IMS, X86_VECTOR_MSI_FLAGS_SUPPORTED, MSI_FLAG_MULTI_PCI_MSI } from "./msi-flags.js";
import { apicDataOf, type VectorDomain } from "./vector.js";

// Source-id verification types of an IRTE (VT-d spec §9.10; irq_remapping.c SVT_*).
export const SVT_NO_VERIFY = 0;
/** Compare the requester id with SID under the SQ mask (SQ 0 = all 16 bits). */
export const SVT_VERIFY_SID_SQ = 1;
/** The requester id's bus must lie in [SID 15:8, SID 7:0]. */
export const SVT_VERIFY_BUS = 2;

/** VT-d's interrupt-remapping table holds at most 65536 entries (16-bit handles). */
export const IRTE_MAX = 65536;

/** How an IRTE checks the requester id of writes that use it. */
export interface SourceId {
  readonly svt: number;
  readonly sid: number;
  /** Requester id the writes are expected to carry (the device's own or the alias that IR verifies). */
  readonly requesterId: number;
}

/**
 * What an IRTE must verify for interrupts of `device`, by set_msi_sid(): walk the DMA aliases as
 * pci_for_each_dma_alias() does — the function itself, its quirk aliases (devfns on its own bus),
 * then the bridges above it (a PCIe-to-PCI bridge adds its secondary bus with devfn 0, a
 * conventional bridge its own id, PCIe ports nothing). With the last alias seen: on another bus
 * than the device that produced it → verify the bus range [alias bus, device bus]; two or more
 * aliases all on one bus (NTB proxy ids) → verify that bus; produced by a device on another bus
 * (a topology alias) → verify that id; otherwise the function's own id. Non-PCI devices resolve
 * through their parents to the PCI function above them; ENODEV when there is none.
 */
export function resolveSourceId(device: Device): SourceId {
  const fn = device.pciFunction;
  if (!fn) throw new ImsimError("ENODEV", `${device.name} has no PCI function above it: its interrupts carry no requester id`);
  const devBus = busOf(fn.requesterId);
  let count = 0;
  let busMatch = 0;
  let alias = 0;
  let producerBus = 0;
  const visit = (producer: Device, id: number): void => {
    if (count === 0 || busOf(id) === busOf(alias)) busMatch++;
    alias = id;
    producerBus = busOf(producer.requesterId);
    count++;
  };
  visit(fn, fn.requesterId);
  for (const a of fn.dmaAliases) visit(fn, a);
  for (let p = fn.parent; p; p = p.parent) {
    const bridge = p.pciBridge;
    if (!bridge) continue;
    if (bridge.kind === "pcie-to-pci") visit(p, (bridge.secondaryBus << 8) | 0);
    else if (bridge.kind === "pci-to-pci") visit(p, p.requesterId);
  }
  if (busOf(alias) !== producerBus) return freezeSource(SVT_VERIFY_BUS, (busOf(alias) << 8) | devBus, alias);
  if (count >= 2 && busMatch === count) return freezeSource(SVT_VERIFY_BUS, (devBus << 8) | devBus, fn.dmaAliases[0] ?? fn.requesterId);
  if (producerBus !== devBus) return freezeSource(SVT_VERIFY_SID_SQ, alias, alias);
  return freezeSource(SVT_VERIFY_SID_SQ, fn.requesterId, fn.requesterId);
}

function freezeSource(svt: number, sid: number, requesterId: number): SourceId {
  return Object.freeze({ svt, sid, requesterId });
}

/** True when a write carrying `requesterId` passes the check (hot path). */
export function sourceIdMatches(svt: number, sid: number, requesterId: number): boolean {
  if (svt === SVT_NO_VERIFY) return true;
  if (svt === SVT_VERIFY_SID_SQ) return sid === requesterId;
  const bus = busOf(requesterId);
  return bus >= sid >>> 8 && bus <= (sid & 0xff);
}

/**
 * The interrupt-remapping table (VT-d spec §9.10): present, vector, destination and the source-id
 * check of each entry. Columns are typed arrays, so validation on delivery allocates nothing.
 */
export class IrteTable {
  readonly size: number;
  readonly present: Uint8Array;
  readonly vector: Uint8Array;
  readonly destination: Uint32Array;
  readonly svt: Uint8Array;
  readonly sid: Uint16Array;
  /** Entries handed out (alloc_irte's bitmap). */
  readonly #used: Uint8Array;
  #inUse = 0;
  #hint = 0;

  constructor(size: number) {
    this.size = size;
    this.present = new Uint8Array(size);
    this.vector = new Uint8Array(size);
    this.destination = new Uint32Array(size);
    this.svt = new Uint8Array(size);
    this.sid = new Uint16Array(size);
    this.#used = new Uint8Array(size);
  }
  get inUse(): number {
    return this.#inUse;
  }
  isAllocated(index: number): boolean {
    return this.#used[index] === 1;
  }

  /** alloc_irte: `count` consecutive entries (a power of two, aligned to it, for multi-MSI); ENOSPC when full. */
  alloc(count: number): number {
    const n = count <= 1 ? 1 : 1 << Math.ceil(Math.log2(count));
    const start = n === 1 ? this.#hint : 0;
    for (let i = start; i + n <= this.size; i += n === 1 ? 1 : n) {
      let free = true;
      for (let j = 0; j < n && free; j++) free = this.#used[i + j] === 0;
      if (!free) continue;
      for (let j = 0; j < n; j++) this.#used[i + j] = 1;
      this.#inUse += n;
      if (n === 1) this.#hint = i + 1;
      return i;
    }
    throw new ImsimError("ENOSPC", `interrupt-remapping table is full (${this.#inUse} of ${this.size} entries in use, ${n} requested)`);
  }

  /** modify_irte: writes an entry and makes it present. */
  program(index: number, vector: number, destination: number, svt: number, sid: number): void {
    this.vector[index] = vector;
    this.destination[index] = destination;
    this.svt[index] = svt;
    this.sid[index] = sid;
    this.present[index] = 1;
  }

  /** Clears an entry (deactivation): writes through it fault as not present. */
  clear(index: number): void {
    this.present[index] = 0;
    this.vector[index] = 0;
    this.destination[index] = 0;
    this.svt[index] = 0;
    this.sid[index] = 0;
  }

  free(index: number): void {
    if (this.#used[index] === 0) throw new ImsimError("ENOENT", `IRTE ${index} is not allocated`);
    this.clear(index);
    this.#used[index] = 0;
    this.#inUse--;
    if (index < this.#hint) this.#hint = index;
  }
}

/** struct intel_ir_data: the remapping level's state of one interrupt. */
export class IrData {
  /** IRTE index: the handle; sub-handles index consecutive entries of a multi-MSI block. */
  readonly index: number;
  readonly subHandle: number;
  readonly source: SourceId;
  constructor(index: number, subHandle: number, source: SourceId) {
    this.index = index;
    this.subHandle = subHandle;
    this.source = source;
  }
  get irte(): number {
    return this.index + this.subHandle;
  }
}

/** intel_ir_chip. */
export const INTEL_IR_CHIP: IrqChip = Object.freeze({ name: "INTEL-IR", flags: 0 });

/** What a remapping unit needs from the system. */
export interface RemapEnv {
  invalidateRoutes(): void;
  maybeFail(point: "irte-alloc"): void;
  /** Counts one requester-id resolution (set_msi_sid at IRTE allocation). */
  countResolution(): void;
}

/**
 * One DMAR unit with interrupt remapping on: its IRTE table and its INTEL-IR-<seq> domain, an MSI
 * parent with the "IR-" prefix. A virtual IOMMU (caching mode) uses the "vIR-" parent ops, which
 * do not offer PCI/IMS (v6.2-v6.9).
 */
export class RemapUnit {
  readonly seq: number;
  readonly table: IrteTable;
  readonly domain: IrqDomain;
  readonly virtual: boolean;
  readonly #env: RemapEnv;
  readonly #vector: VectorDomain;

  constructor(seq: number, size: number, virtual: boolean, vector: VectorDomain, env: RemapEnv) {
    this.seq = seq;
    this.virtual = virtual;
    this.table = new IrteTable(size);
    this.#env = env;
    this.#vector = vector;
    this.domain = new IrqDomain({
      name: `INTEL-IR-${seq}`,
      busToken: DOMAIN_BUS_DMAR,
      parent: vector.domain,
      flags: IRQ_DOMAIN_FLAG_HIERARCHY | IRQ_DOMAIN_NAME_ALLOCATED | IRQ_DOMAIN_FLAG_ISOLATED_MSI | IRQ_DOMAIN_FLAG_MSI_PARENT,
      size,
      msiParent: virtual
        ? { prefix: "vIR-", supportedFlags: X86_VECTOR_MSI_FLAGS_SUPPORTED | MSI_FLAG_MULTI_PCI_MSI }
        : { prefix: "IR-", supportedFlags: X86_VECTOR_MSI_FLAGS_SUPPORTED | MSI_FLAG_MULTI_PCI_MSI | MSI_FLAG_PCI_IMS },
      ops: {
        alloc: (domain, descs, arg) => this.#alloc(domain, descs, arg),
        free: (domain, descs) => this.#free(domain, descs),
        activate: (_d, data) => {
          const i = (data.chipData as IrData).irte;
          const t = this.table;
          const row = { present: t.present[i]!, vector: t.vector[i]!, destination: t.destination[i]!, svt: t.svt[i]!, sid: t.sid[i]! };
          this.#reconfigure(data);
          return () => {
            if (row.present === 1) t.program(i, row.vector, row.destination, row.svt, row.sid);
            else t.clear(i);
            this.#env.invalidateRoutes();
          };
        },
        deactivate: (_d, data) => {
          this.table.clear((data.chipData as IrData).irte);
          this.#env.invalidateRoutes();
        },
        setAffinity: (data, mask, force) => this.#setAffinity(data, mask, force),
        composeMsg: (data, msg) => {
          const ir = data.chipData as IrData;
          const m = composeRemappable(ir.index, ir.subHandle);
          msg.addressLo = m.addressLo;
          msg.addressHi = m.addressHi;
          msg.data = m.data;
        },
      },
    });
  }

  /** intel_irq_remapping_alloc: the parent (vector) first, then consecutive IRTEs; the source id is resolved here. */
  #alloc(domain: IrqDomain, descs: readonly IrqDesc[], arg: IrqAllocInfo): void {
    allocParent(domain, descs, arg);
    let index: number;
    let source: SourceId;
    try {
      this.#env.maybeFail("irte-alloc");
      source = (arg.resolvedSource as SourceId | undefined) ?? this.#resolve(arg);
      index = this.table.alloc(descs.length);
    } catch (e) {
      freeParent(domain, descs);
      throw e;
    }
    descs.forEach((desc, i) => {
      const data = irqDataAt(desc, domain)!;
      data.hwirq = (index << 16) + i;
      data.chip = INTEL_IR_CHIP;
      data.chipData = new IrData(index, i, source);
      // IRQ_MOVE_PCNTXT: with remapping only the IRTE changes on a move, so it happens at once.
      desc.movePcntxt = true;
    });
  }

  #resolve(arg: IrqAllocInfo): SourceId {
    const dev = arg.requester?.sourceOf() as Device | undefined;
    if (!dev) return freezeSource(SVT_NO_VERIFY, 0, 0);
    const s = resolveSourceId(dev);
    this.#env.countResolution();
    return s;
  }

  #free(domain: IrqDomain, descs: readonly IrqDesc[]): void {
    const first = irqDataAt(descs[0]!, domain)?.chipData as IrData | undefined;
    if (first) {
      const n = descs.length <= 1 ? 1 : 1 << Math.ceil(Math.log2(descs.length));
      for (let i = 0; i < n; i++) if (this.table.isAllocated(first.index + i)) this.table.free(first.index + i);
    }
    this.#env.invalidateRoutes();
    freeParent(domain, descs);
  }

  /** intel_ir_reconfigure_irte: vector and destination from the vector level's configuration; present. */
  #reconfigure(data: IrqData): void {
    const ir = data.chipData as IrData;
    const apicd = apicDataOf(data.desc)!;
    this.table.program(ir.irte, apicd.hwVector, apicd.hwCpu, ir.source.svt, ir.source.sid);
    this.#env.invalidateRoutes();
  }

  /** intel_ir_set_affinity: move the vector, rewrite the IRTE, schedule the old vector's cleanup now. */
  #setAffinity(data: IrqData, mask: import("./cpumask.js").Cpumask, force: boolean): number {
    const parent = data.parent!;
    parent.domain.ops.setAffinity!(parent, mask, force);
    this.#reconfigure(data);
    const apicd = apicDataOf(data.desc);
    if (apicd) this.#vector.scheduleCleanup(apicd);
    return IRQ_SET_MASK_OK_DONE;
  }
}

/** The IRTE index of `desc`'s remapping level, -1 without remapping. */
export function irteOf(desc: IrqDesc): number {
  for (let d: IrqData | undefined = desc.data; d; d = d.parent) if (d.chipData instanceof IrData) return d.chipData.irte;
  return -1;
}
