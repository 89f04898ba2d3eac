import { ImsimError, checkInt, createSystem, describe, parseBdf, requesterIdOf, type HandlerErrorRecord, type IrqSystem, type Device } from "@imsim/core";
import { DEFAULT_MW_ALIGN, MemoryWindow, type MwAlign } from "./memory-window.js";
import { ScratchpadBank } from "./scratchpad.js";
import { Doorbell } from "./doorbell.js";
import { NtbMsixTable } from "./msix-table.js";
import { NtbDevice, type NtbLinkPort } from "./ntb-device.js";

export interface NtbHostOptions {
  /**
   * An existing host to put this side's NTB function on, instead of a new system (several NTBs on
   * one host). `name`, `cpus`, `interruptRemapping`, `virtualIommu` and `onHandlerError` are then
   * the system's own; disposing of the pair removes only the function (and what is under it).
   */
  system?: IrqSystem;
  /** System name (views of several systems), default "hostA" / "hostB". */
  name?: string;
  cpus?: number;
  /**
   * Interrupt remapping on this host (createSystem's option; default off, as there). The IMS
   * strategies need it: a PCI/IMS domain exists only under a physical remapping unit (Linux v6.9
   * x86_init_dev_msi_info / intel_irq_remapping), so without it they refuse with EOPNOTSUPP.
   */
  interruptRemapping?: boolean;
  /** The remapping units are virtual (a guest's vIOMMU, createSystem's `virtualIommu`): no PCI/IMS either. */
  virtualIommu?: boolean;
  /** PCI address of the NTB function, default 0000:05:00.1 (A) / 0000:82:00.1 (B). */
  bdf?: string;
  /**
   * Proxy requester ids the bridge presents on writes from the peer (switchtec-style requester-id
   * translation, drivers/ntb/hw/mscc/ntb_hw_switchtec.c). Default: two ids on the function's bus,
   * devfn 01.0 and 01.1. The first one is what peer writes carry. Registered as DMA aliases they
   * must lie on the function's own bus: pci_add_dma_alias() takes devfns of the device's bus
   * (drivers/pci/pci.c), and set_msi_sid() (drivers/iommu/intel/irq_remapping.c) then verifies the
   * bus when there are two or more of them (EINVAL otherwise).
   */
  proxyIds?: readonly number[];
  /**
   * Whether the proxy ids are registered as DMA aliases of the function (pci_add_dma_alias, as the
   * switchtec driver does). Without them interrupt remapping verifies the function's own id and
   * every peer write is blocked (source-id mismatch). Default true.
   */
  registerProxyIds?: boolean;
  /** MSI-X table entries of the NTB function, default 32. */
  msixVectors?: number;
  /** Extra PCI_IRQ_VIRTUAL vectors beyond the table, default 0. */
  virtualVectors?: number;
  /** The host system's `onHandlerError` (createSystem): where its interrupt handlers' errors go. */
  onHandlerError?: (record: HandlerErrorRecord) => void;
}

export interface NtbPairOptions {
  a?: NtbHostOptions;
  b?: NtbHostOptions;
  /** Memory windows per direction, default 2. ntb_msi takes the last one. */
  memoryWindows?: number;
  /** Alignment rules of every inbound window (ntb_mw_get_align), default DEFAULT_MW_ALIGN. */
  mwAlign?: MwAlign;
  /** Scratchpads per side, default 128. */
  spads?: number;
  /** Doorbell bits per side, default 16. */
  doorbells?: number;
  /** Whether the cable is connected at creation, default true. The link is up when connected and both sides are enabled. */
  connected?: boolean;
}

/** Physical base of the first outbound aperture on each host (a 64-bit BAR above 4 GiB; this model's choice). */
export const APERTURE_BASE = 0x38_0000_0000;
/** Distance between the apertures of consecutive windows. */
export const APERTURE_STRIDE = 0x1_0000_0000;

/**
 * The PCI identity of the model's NTB function: an Intel Skylake-SP NTB (8086:201c, class 0x068000
 * "other bridge", drivers/ntb/hw/intel/ntb_hw_intel.h PCI_DEVICE_ID_INTEL_NTB_B2B_SKX), bound to
 * ntb_hw_intel.
 */
export const NTB_PCI_IDS = Object.freeze({ vendor: 0x8086, device: 0x201c, classCode: 0x068000, subsystemVendor: 0x8086, subsystemDevice: 0x0000, revision: 0x04 });
export const NTB_HW_DRIVER = "ntb_hw_intel";

const DEFAULTS = {
  a: { name: "hostA", bdf: "0000:05:00.1" },
  b: { name: "hostB", bdf: "0000:82:00.1" },
} as const;

/**
 * Two hosts joined by a non-transparent bridge. Each host is a complete core system with its own
 * CPUs, virqs and interrupt remapping; on each, the bridge is a PCI function (with its MSI-X table)
 * and an NTB device on the `ntb` bus above it (include/linux/ntb.h). The pair owns the link: up when
 * the cable is connected and both sides have enabled it (ntb_link_enable); every change is reported
 * to both sides' link_event listeners.
 */
export class NtbPair {
  readonly a: NtbDevice;
  readonly b: NtbDevice;
  #connected: boolean;
  readonly #enabled = new Set<NtbDevice>();
  #up = false;
  /** Link changes so far: one made from inside a listener supersedes the one being reported. */
  #changes = 0;
  #disposed = false;

  constructor(options: NtbPairOptions = {}) {
    if (typeof options !== "object" || options === null) throw new ImsimError("EINVAL", `NTB pair options must be an object, got ${describe(options)}`);
    const mwCount = checkInt(options.memoryWindows ?? 2, 1, 8, "memory window count");
    const align = options.mwAlign ?? DEFAULT_MW_ALIGN;
    const spads = options.spads ?? 128;
    const dbs = options.doorbells ?? 16;
    this.#connected = options.connected ?? true;
    if (typeof this.#connected !== "boolean") throw new ImsimError("EINVAL", `connected must be a boolean`);
    const self = this;
    const port: NtbLinkPort = {
      get isLinkUp() {
        return self.#up;
      },
      setEnabled(device, enabled) {
        self.#setEnabled(device, enabled);
      },
    };
    this.a = NtbPair.#host(options.a ?? {}, DEFAULTS.a, mwCount, align, spads, dbs, port);
    this.b = NtbPair.#host(options.b ?? {}, DEFAULTS.b, mwCount, align, spads, dbs, port);
    this.a.connect(this.b);
    this.b.connect(this.a);
    for (const side of [this.a, this.b]) {
      side.system.onRemove(side.pciFunction, () => {
        side.markRemoved();
        this.#enabled.delete(side);
        this.#update();
      });
    }
  }

  static #host(o: NtbHostOptions, d: { name: string; bdf: string }, mwCount: number, align: MwAlign, spads: number, dbs: number, port: NtbLinkPort): NtbDevice {
    if (typeof o !== "object" || o === null) throw new ImsimError("EINVAL", `NTB host options must be an object, got ${describe(o)}`);
    const bdf = o.bdf ?? d.bdf;
    const pci = parseBdf(bdf);
    const proxyIds = o.proxyIds ?? [(pci.bus << 8) | (1 << 3) | 0, (pci.bus << 8) | (1 << 3) | 1];
    if (!Array.isArray(proxyIds) || proxyIds.length === 0) throw new ImsimError("EINVAL", `proxyIds of ${bdf} must be a non-empty array of requester ids`);
    for (const id of proxyIds) checkInt(id, 0, 0xffff, `proxy id of ${bdf}`);
    const register = o.registerProxyIds ?? true;
    if (register) {
      // pci_add_dma_alias(dev, devfn_from, nr_devfns) records devfns of dev's own bus (drivers/pci/pci.c).
      const other = proxyIds.find((id) => id >>> 8 !== pci.bus);
      if (other !== undefined) {
        throw new ImsimError(
          "EINVAL",
          `proxy id 0x${other.toString(16).padStart(4, "0")} of ${bdf} is not on its bus ${pci.bus.toString(16).padStart(2, "0")}: a DMA alias (pci_add_dma_alias) is a devfn of the function's own bus; pass registerProxyIds: false for ids the function does not alias`,
        );
      }
    }
    if (o.system !== undefined && (typeof o.system !== "object" || o.system === null || typeof o.system.addPciDevice !== "function")) {
      throw new ImsimError("EINVAL", `system of the NTB host ${bdf} must be an IrqSystem (createSystem()), got ${describe(o.system)}`);
    }
    const system: IrqSystem = o.system ?? createSystem({
      name: o.name ?? d.name,
      ...(o.cpus !== undefined ? { cpus: o.cpus } : {}),
      ...(o.interruptRemapping !== undefined ? { interruptRemapping: o.interruptRemapping } : {}),
      ...(o.virtualIommu !== undefined ? { virtualIommu: o.virtualIommu } : {}),
      ...(o.onHandlerError !== undefined ? { onHandlerError: o.onHandlerError } : {}),
    });
    const pciFunction: Device = system.addPciDevice({ bdf, ids: NTB_PCI_IDS, driver: NTB_HW_DRIVER, ...(register ? { dmaAliases: proxyIds } : {}) });
    // ntb_register_device (drivers/ntb/core.c) names the ntb bus device after its PCI function:
    // dev_set_name(&ntb->dev, "%s", pci_name(ntb->pdev)), a child of it in sysfs.
    const device = system.addDevice({ name: pciFunction.name, bus: "ntb", parent: pciFunction });
    const store = new NtbMsixTable(o.msixVectors ?? 32, o.virtualVectors ?? 0, requesterIdOf(pci));
    const windows: MemoryWindow[] = [];
    const apertureBase: number[] = [];
    for (let i = 0; i < mwCount; i++) {
      windows.push(new MemoryWindow(i, align));
      apertureBase.push(APERTURE_BASE + i * APERTURE_STRIDE);
    }
    return new NtbDevice({
      system,
      pciFunction,
      device,
      store,
      windows,
      apertureBase,
      spads: new ScratchpadBank(spads),
      doorbell: new Doorbell(dbs),
      wireRequesterId: proxyIds[0]!,
      port,
    });
  }

  get isLinkUp(): boolean {
    return this.#up;
  }
  get connected(): boolean {
    return this.#connected;
  }
  /** Both systems, A first. */
  get systems(): [IrqSystem, IrqSystem] {
    return [this.a.system, this.b.system];
  }

  /** Connects the cable (the link comes up if both sides are enabled). */
  connect(): void {
    this.#connected = true;
    this.#update();
  }
  /** Pulls the cable: the link goes down for both sides. */
  disconnect(): void {
    this.#connected = false;
    this.#update();
  }
  /** disconnect() then connect(): one link flap. */
  flap(): void {
    this.disconnect();
    this.connect();
  }

  #setEnabled(device: NtbDevice, enabled: boolean): void {
    if (enabled) this.#enabled.add(device);
    else this.#enabled.delete(device);
    this.#update();
  }

  #update(): void {
    const up = this.#connected && !this.#disposed && this.#enabled.has(this.a) && this.#enabled.has(this.b) && !this.a.removed && !this.b.removed;
    if (up === this.#up) return;
    this.#up = up;
    const change = ++this.#changes;
    // Both ports see the change; A's clients run first (a fixed order keeps runs reproducible).
    // Listener errors stay on their host (NtbDevice.eventErrors): B always hears of the change. If
    // a listener on A changed the link again, both sides have heard of that newer change already.
    this.a.emitLinkEvent(up);
    if (change === this.#changes) this.b.emitLinkEvent(up);
  }

  /** Takes the link down for good and removes both NTB functions (and everything under them). */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#update();
    for (const side of [this.a, this.b]) if (!side.removed) side.system.removeDevice(side.pciFunction);
  }
}

/** Creates a pair: `createNtbPair({ a: { interruptRemapping: true }, b: { interruptRemapping: true } })`. */
export function createNtbPair(options: NtbPairOptions = {}): NtbPair {
  return new NtbPair(options);
}
