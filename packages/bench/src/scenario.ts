import {
  Entry16Store,
  MSI_DEFAULT_DOMAIN,
  createMsixTable,
  createSystem,
  type ImsStrategy,
  type IrqSystem,
  type Queue,
  type StrategyFactory,
} from "@imsim/core";
import { IdxdDevice, IdxdDriver, IdxdUserQueue, IdxdVdev, Memory, OPCODE_MEMMOVE, OPCODE_NOOP, OP_FLAG_RCI } from "@imsim/hw-idxd";
import { NtbTransport, createNtbPair } from "@imsim/hw-ntb";
import { LOCAL_IDXD_BDF, LOCAL_IDXD_IMS_ENTRIES, LOCAL_NTB_ENTRIES } from "./local-hardware.js";
import type { HardwareName } from "./matrix.js";

/** One simulated host of a scenario and what runs on it. */
export interface ScenarioHost {
  label: string;
  system: IrqSystem;
  strategy: ImsStrategy;
}

export interface Scenario {
  hardware: HardwareName;
  hosts: ScenarioHost[];
  teardown(): void;
}

const noop = (): void => {};

function requestAll(system: IrqSystem, strategy: ImsStrategy, queue: Queue): void {
  for (const irq of strategy.irqs(queue)) {
    if (system.irqDesc(irq.virq)!.actions.length === 0) system.requestIrq(irq.virq, irq.index === 0 ? queue.name : `${queue.name}-${irq.index}`, noop);
  }
}

/**
 * IDXD default scenario: a DSA function with MSI-X (vector 0 for errors, two for kernel work
 * queues) and a 2048-entry IMS table under the strategy; a guest (VFIO-style virtual device)
 * starting with one vector and adding two on demand, with a PASID; a user (char device) queue
 * with one IMS interrupt and its PASID. Interrupts are fired so counts show.
 */
export function idxdScenario(factory: StrategyFactory, cpus = 4): Scenario {
  const system = createSystem({ cpus, interruptRemapping: true, name: "host" });
  const dsa = system.addPciDevice({ bdf: LOCAL_IDXD_BDF });
  const msix = createMsixTable(9, dsa.requesterId);
  const msixDomain = system.createMsiDomain(dsa, { domainId: MSI_DEFAULT_DOMAIN, store: msix, kind: "msix" });
  const kernel = msixDomain.allocRange(0, 2);
  const names = ["idxd-misc", "idxd-wq0.0", "idxd-wq0.1"];
  kernel.forEach(({ index, virq }) => system.requestIrq(virq, names[index]!, noop));
  const ims = new Entry16Store({ chipName: "PCI-IDXD", size: LOCAL_IDXD_IMS_ENTRIES, requesterId: dsa.requesterId, pasid: true });
  const strategy = factory(system, dsa, ims);
  const guest = strategy.createQueue({ name: "vdcm0", nvec: 1, pasid: 0x10, slice: { base: 0, count: 32 } });
  requestAll(system, strategy, guest);
  strategy.allocIrq(guest);
  strategy.allocIrq(guest);
  requestAll(system, strategy, guest);
  const user = strategy.createQueue({ name: "wq0.2", nvec: 1, pasid: 0x20, slice: { base: 32, count: 8 } });
  requestAll(system, strategy, user);
  for (let n = 0; n < 40; n++) system.raise(msix, 1 + (n % 2));
  system.raise(msix, 0);
  for (const q of [guest, user]) for (const irq of strategy.irqs(q)) for (let n = 0; n <= irq.index + 2; n++) system.raise(ims, irq.storeIndex);
  return {
    hardware: "idxd",
    hosts: [{ label: "host", system, strategy }],
    teardown() {
      strategy.dispose();
      system.removeDevice(dsa);
    },
  };
}

/**
 * NTB default scenario: two hosts joined by an NTB; on each, the NTB function's interrupts (its
 * message store under the strategy) serve two clients, ntb_transport queue pairs, whose messages
 * are published to the peer. The peer fires them by writing into the window; the writes carry
 * the NTB's proxy requester ids, which interrupt remapping verifies by bus.
 */
export function ntbScenario(factory: StrategyFactory, cpus = 4): Scenario {
  const sides = [
    // Proxy ids on the function's own bus (devfns 01.0 and 01.1), as DMA aliases must be.
    { label: "hostA", bdf: "0000:05:00.1", aliases: [0x0508, 0x0509] },
    { label: "hostB", bdf: "0000:81:00.1", aliases: [0x8108, 0x8109] },
  ];
  const hosts = sides.map((s) => {
    const system = createSystem({ cpus, interruptRemapping: true, name: s.label });
    const fn = system.addPciDevice({ bdf: s.bdf, dmaAliases: s.aliases });
    system.addDevice({ name: "ntb0", bus: "ntb", parent: fn });
    const store = new Entry16Store({ chipName: "NTB-MSIX", size: LOCAL_NTB_ENTRIES, requesterId: s.aliases[0]!, pasid: false });
    const strategy = factory(system, fn, store);
    const queues = ["ntb_transport.0", "ntb_transport.1"].map((name, i) => strategy.createQueue({ name, nvec: 2, slice: { base: i * 8, count: 8 } }));
    for (const q of queues) requestAll(system, strategy, q);
    return { label: s.label, system, strategy, store, fn, queues, wireId: s.aliases[0]! };
  });
  // Each peer writes the published (address, data) of the other side's entries through the window.
  for (const h of hosts) {
    for (const q of h.queues) {
      for (const irq of h.strategy.irqs(q)) {
        for (let n = 0; n < 5 + irq.index; n++) {
          h.system.msiWrite(h.store.addressLo(irq.storeIndex), h.store.addressHi(irq.storeIndex), h.store.data(irq.storeIndex), h.wireId, -1);
        }
      }
    }
  }
  return {
    hardware: "ntb",
    hosts: hosts.map((h) => ({ label: h.label, system: h.system, strategy: h.strategy })),
    teardown() {
      for (const h of hosts) {
        h.strategy.dispose();
        h.system.removeDevice(h.fn);
      }
    },
  };
}

/**
 * IDXD default scenario on @imsim/hw-idxd, as its README builds it: a DSA probed by its driver
 * (MSI-X for errors and the kernel work queue), a kernel memmove on WQ 0, a guest (VFIO-style
 * virtual device on WQ 2) whose IMS-backed vectors are enabled one by one, on demand, with its
 * PASID, a second guest whose four vectors are allocated but not yet requested, and a user client of the shared WQ 1 with an IMS interrupt. The engines then run, so every
 * completion interrupt is counted.
 */
export function idxdPackageScenario(factory: StrategyFactory, cpus = 4): Scenario {
  const system = createSystem({ cpus, interruptRemapping: true, name: "host" });
  const memory = new Memory(1 << 24, "host memory");
  const device = new IdxdDevice(system, { bdf: LOCAL_IDXD_BDF, memory });
  const driver = IdxdDriver.probe(device, { strategy: factory });
  const strategy = driver.strategy;
  const src = memory.alloc(4096);
  const dst = memory.alloc(4096);
  for (let n = 0; n < 3; n++) driver.submit(0, { opcode: OPCODE_MEMMOVE, src, dst, xferSize: 4096 }, noop);
  const vdev = IdxdVdev.create(driver, { name: "vdsa0", wq: 2, pasid: 0x42, memory: new Memory(1 << 20, "guest"), vectors: 4 });
  for (let v = 1; v <= 3; v++) {
    vdev.guest.enableVector(v, noop); // on demand: the IMS entry behind vector v is allocated now
    const { handle } = vdev.guest.requestIntHandle(v);
    for (let n = 0; n < v + 1; n++) vdev.guest.submit({ opcode: OPCODE_NOOP, flags: OP_FLAG_RCI, intHandle: handle });
  }
  // A second guest has enabled MSI-X with four vectors but set no trigger yet: vfio_msi_enable
  // allocates them all up front (drivers/vfio/pci/vfio_pci_intrs.c) and requests each only when its
  // trigger is set. Allocated, never requested: each holds a global vector reservation, not a vector
  // (x86 reservation mode; `Global reserved` in the domains view).
  const imsSize = strategy.store.size;
  driver.createImsQueue(1, { name: "vdsa1", nvec: 4, pasid: 0x43, slice: { base: imsSize - 8, count: 8 } });
  const user = IdxdUserQueue.open(driver, { wq: 1, pasid: 7, memory: new Memory(1 << 20, "process") });
  for (let n = 0; n < 2; n++) user.submit({ opcode: OPCODE_NOOP });
  device.run();
  return {
    hardware: "idxd",
    hosts: [{ label: "host", system, strategy }],
    teardown() {
      vdev.close();
      user.close();
      driver.remove();
      if (!device.pci.removed) system.removeDevice(device.pci);
    },
  };
}

/**
 * NTB default scenario on @imsim/hw-ntb, as its README builds it: two hosts joined by an NTB pair,
 * an ntb_transport on each with a "net" client of two queue pairs; queue pair 1 grows a second
 * vector on demand; each side fires the other's vectors through the window.
 */
export function ntbPackageScenario(factory: StrategyFactory, cpus = 4): Scenario {
  const pair = createNtbPair({ a: { cpus, interruptRemapping: true }, b: { cpus, interruptRemapping: true } });
  const a = new NtbTransport(pair.a, factory, { vectorsPerQp: 4 });
  const b = new NtbTransport(pair.b, factory, { vectorsPerQp: 4 });
  const sides = [a, b];
  for (const t of sides) t.createClient("net", { queuePairs: 2, handler: noop });
  for (const t of sides) t.client("net").grow(1);
  for (const [from, to] of [[b, a], [a, b]] as const) {
    void to;
    for (let n = 0; n < 4; n++) from.client("net").trigger(0, 0);
    for (let n = 0; n < 2; n++) from.client("net").trigger(1, 0);
    from.client("net").trigger(1, 1);
  }
  return {
    hardware: "ntb",
    hosts: [
      { label: pair.a.system.name, system: pair.a.system, strategy: a.strategy },
      { label: pair.b.system.name, system: pair.b.system, strategy: b.strategy },
    ],
    teardown() {
      a.dispose();
      b.dispose();
      pair.dispose();
    },
  };
}

/**
 * The scenario `imsim show` prints: the hardware packages' own driver set-up. The local ones above
 * (`idxdScenario`, `ntbScenario`, built on core alone) remain for use without those packages.
 */
export function defaultScenario(hardware: HardwareName, factory: StrategyFactory, cpus = 4): Scenario {
  return hardware === "idxd" ? idxdPackageScenario(factory, cpus) : ntbPackageScenario(factory, cpus);
}
