import { describe, expect, it } from "vitest";
import {
  DELIVERED,
  Entry16Store,
  MANAGED_IRQ_SHUTDOWN_VECTOR,
  MSI_SECONDARY_DOMAIN,
  apicDataOf,
  createMsixTable,
  createSystem,
  decodeCompat,
  type IrqSystem,
} from "../src/index.js";
import { expectCode } from "./support/helpers.js";

// arch/x86/kernel/apic/vector.c as the model runs it: reservation at allocation, a real vector at
// activation, managed interrupts, deferred cleanup of moved vectors, CPU hotplug.

function msix(system: IrqSystem, size = 8, bdf = "0000:01:00.0") {
  const dev = system.addPciDevice({ bdf });
  const table = createMsixTable(size, dev.requesterId);
  const domain = system.createMsiDomain(dev, { domainId: 0, store: table, kind: "msix" });
  return { dev, table, domain };
}

function ims(system: IrqSystem, size = 16) {
  const dev = system.addPciDevice({ bdf: "0000:6a:01.0" });
  const store = new Entry16Store({ chipName: "PCI-IDXD", size, requesterId: dev.requesterId, pasid: true });
  const domain = system.createMsiDomain(dev, { domainId: MSI_SECONDARY_DOMAIN, store, kind: "ims" });
  return { dev, store, domain };
}

const counted = (system: IrqSystem) => ({ reserved: system.matrix.globalReserved, allocated: system.matrix.totalAllocated });

describe("reservation mode (PCI MSI-X): a reserved vector at allocation, a real one at request_irq", () => {
  for (const ir of [false, true]) {
    it(`allocation reserves and writes the shutdown vector; request assigns; free_irq gives it back (remapping ${ir})`, () => {
      const sys = createSystem({ cpus: 4, interruptRemapping: ir });
      const before = counted(sys);
      const { domain, table } = msix(sys);
      const { virq } = domain.allocAt(0);
      const desc = sys.irqDesc(virq)!;
      expect(counted(sys)).toEqual({ reserved: before.reserved + 1, allocated: before.allocated });
      expect(apicDataOf(desc)).toMatchObject({ vector: 0, hasReserved: true, canReserve: true, hwVector: MANAGED_IRQ_SHUTDOWN_VECTOR });
      expect([desc.activated, desc.effectiveCpu]).toEqual([false, 0]);
      // Early activation wrote a message already: to the shutdown vector (or through an IRTE aimed at it).
      if (!ir) expect(decodeCompat(domain.desc(0)!.msg)).toMatchObject({ apicId: 0, vector: MANAGED_IRQ_SHUTDOWN_VECTOR });
      else expect(sys.irtes!.vector[desc.irte]).toBe(MANAGED_IRQ_SHUTDOWN_VECTOR);
      sys.requestIrq(virq, "q0", () => {});
      expect(counted(sys)).toEqual({ reserved: before.reserved, allocated: before.allocated + 1 });
      expect(apicDataOf(desc)).toMatchObject({ hasReserved: false });
      expect(desc.vector).toBeGreaterThanOrEqual(0x20);
      expect(desc.activated).toBe(true);
      expect(sys.raise(table, 0)).toBe(DELIVERED);
      sys.freeIrq(virq, "q0");
      expect(counted(sys)).toEqual({ reserved: before.reserved + 1, allocated: before.allocated });
      expect([desc.activated, desc.vector, apicDataOf(desc)!.hasReserved]).toEqual([false, 0, true]);
      domain.free(0);
      expect(counted(sys)).toEqual(before);
    });
  }

  it("lets a host hold far more allocated interrupts than it has vectors (reservations are only counted)", () => {
    const sys = createSystem({ cpus: 2, interruptRemapping: true });
    const { domain } = msix(sys, 2048);
    domain.allocRange(0, 2047);
    expect(sys.matrix.globalReserved).toBeGreaterThan(sys.matrix.globalAvailable);
    expect(domain.allocated).toBe(2048);
  });
});

describe("IMS interrupts (no early activation, no reservation mode)", () => {
  it("write their entry only when requested, and keep their vector after free_irq until they are freed", () => {
    const sys = createSystem({ cpus: 4, interruptRemapping: true });
    const { domain, store } = ims(sys);
    const before = counted(sys);
    const { virq } = domain.allocAt(3);
    expect([store.addressLo(3), domain.desc(3)!.hasMessage]).toEqual([0, false]);
    expect(counted(sys).reserved).toBe(before.reserved + 1);
    sys.requestIrq(virq, "ims", () => {});
    expect(store.addressLo(3)).not.toBe(0);
    expect(counted(sys)).toEqual({ reserved: before.reserved, allocated: before.allocated + 1 });
    sys.freeIrq(virq, "ims");
    // x86_vector_deactivate leaves a "regular fixed assigned interrupt" alone: IMS is not in reservation mode.
    expect(counted(sys)).toEqual({ reserved: before.reserved, allocated: before.allocated + 1 });
    expect(sys.irqDesc(virq)!.activated).toBe(false);
    expect(store.addressLo(3)).toBe(0); // msi_domain_deactivate wrote an all-zero message
    domain.free(3);
    expect(counted(sys)).toEqual(before);
  });
});

describe("managed interrupts", () => {
  it("are spread one per CPU, reserved per CPU, activated on their CPU, and refuse user affinity (EPERM)", () => {
    const sys = createSystem({ cpus: 4, interruptRemapping: true });
    const { domain } = msix(sys);
    const maps = domain.allocRange(0, 3, { managed: true });
    expect(maps.map((m) => sys.irqDesc(m.virq)!.affinity.toList())).toEqual(["0", "1", "2", "3"]);
    for (let c = 0; c < 4; c++) expect(sys.matrix.counts(c).managed).toBe(1);
    for (const m of maps) sys.requestIrq(m.virq, `q${m.index}`, () => {});
    expect(maps.map((m) => sys.irqDesc(m.virq)!.effectiveCpu)).toEqual([0, 1, 2, 3]);
    for (let c = 0; c < 4; c++) expect(sys.matrix.counts(c).managedAllocated).toBe(1);
    const before = sys.snapshot();
    expectCode(() => sys.setAffinity(maps[0]!.virq, [1]), "EPERM");
    expect(sys.snapshot()).toEqual(before);
  });

  it("shut down when the last CPU of their mask goes offline, and start again, with a held raise, when it returns", () => {
    const sys = createSystem({ cpus: 4, interruptRemapping: true });
    const { domain, table } = msix(sys);
    const maps = domain.allocRange(0, 3, { managed: true });
    let runs = 0;
    for (const m of maps) sys.requestIrq(m.virq, `q${m.index}`, () => runs++);
    const d2 = sys.irqDesc(maps[2]!.virq)!;
    sys.setCpuOnline(2, false);
    expect([d2.managedShutdown, d2.started, d2.activated, d2.vector]).toEqual([true, false, false, 0]);
    expect(sys.matrix.counts(2).managed).toBe(1); // the reservation stays
    sys.raise(table, 2); // masked at shutdown: the device holds it
    expect(runs).toBe(0);
    sys.setCpuOnline(2, true);
    expect([d2.managedShutdown, d2.started, d2.effectiveCpu]).toEqual([false, true, 2]);
    expect(runs).toBe(1);
  });

  it("requested while none of their CPUs is online stay shut down (IRQ_STARTUP_ABORT) and start when one comes", () => {
    const sys = createSystem({ cpus: 2, interruptRemapping: true });
    const { domain } = msix(sys);
    const [a] = domain.allocRange(0, 1, { managed: true });
    sys.setCpuOnline(0, false);
    sys.requestIrq(a!.virq, "q0", () => {});
    expect(sys.irqDesc(a!.virq)!.managedShutdown).toBe(true);
    sys.setCpuOnline(0, true);
    expect(sys.irqDesc(a!.virq)).toMatchObject({ managedShutdown: false, started: true, effectiveCpu: 0 });
  });
});

describe("moves keep the old vector until the move completed (move_in_progress, cleanup_pending)", () => {
  it("without remapping: the move waits for the next interrupt; a write still carrying the old message is delivered, not spurious", () => {
    const sys = createSystem({ cpus: 4 });
    const { domain, table, dev } = msix(sys);
    const { virq } = domain.allocAt(0);
    let runs = 0;
    sys.requestIrq(virq, "q", () => runs++);
    const desc = sys.irqDesc(virq)!;
    const from = desc.effectiveCpu;
    const old = { ...domain.desc(0)!.msg };
    const to = (from + 1) % 4;
    sys.setAffinity(virq, [to]);
    expect([desc.moveP, desc.effectiveCpu, desc.pendingMask?.toList()]).toEqual([true, from, `${to}`]);
    expect(sys.raise(table, 0)).toBe(DELIVERED); // irq_move_irq at the ack: now it moves
    const apicd = apicDataOf(desc)!;
    expect([desc.moveP, desc.effectiveCpu, apicd.moveInProgress, apicd.prevCpu]).toEqual([false, to, true, from]);
    const spurious = sys.stats.spurious;
    expect(sys.msiWrite(old.addressLo, old.addressHi, old.data, dev.requesterId)).toBe(DELIVERED);
    expect([sys.stats.spurious, runs]).toEqual([spurious, 2]);
    expect(sys.raise(table, 0)).toBe(DELIVERED); // first interrupt on the new vector: cleanup scheduled
    expect([apicd.moveInProgress, apicd.cleanupPending]).toEqual([false, true]);
    const held = sys.matrix.counts(from).allocated;
    expect(sys.tick()).toBe(1);
    expect([apicd.cleanupPending, apicd.prevVector, sys.matrix.counts(from).allocated]).toEqual([false, 0, held - 1]);
    // After the cleanup the old message reaches a vector nobody owns.
    expect(sys.msiWrite(old.addressLo, old.addressHi, old.data, dev.requesterId)).not.toBe(DELIVERED);
  });

  it("with remapping: only the IRTE changes, at once; the old vector waits for the cleanup timer; a second move waits for it too", () => {
    const sys = createSystem({ cpus: 4, interruptRemapping: true });
    const { domain, table } = msix(sys);
    const { virq } = domain.allocAt(0);
    sys.requestIrq(virq, "q", () => {});
    const desc = sys.irqDesc(virq)!;
    const writes = domain.desc(0)!.writes;
    const from = desc.effectiveCpu;
    const to = (from + 1) % 4;
    sys.setAffinity(virq, [to]);
    const apicd = apicDataOf(desc)!;
    expect([desc.effectiveCpu, apicd.cleanupPending, apicd.prevCpu, domain.desc(0)!.writes]).toEqual([to, true, from, writes]);
    expect(sys.irtes!.destination[desc.irte]).toBe(to);
    const next = (to + 1) % 4;
    sys.setAffinity(virq, [next]); // EBUSY inside: IRQD_SETAFFINITY_PENDING
    expect([desc.moveP, desc.effectiveCpu]).toEqual([true, to]);
    sys.raise(table, 0); // still EBUSY at the ack: stays pending
    expect(desc.moveP).toBe(true);
    sys.tick();
    sys.raise(table, 0);
    expect([desc.moveP, desc.effectiveCpu]).toEqual([false, next]);
  });
});

describe("CPU hotplug", () => {
  it("moves started interrupts off a CPU going down, leaves reserved ones alone, refuses the last CPU (EBUSY)", () => {
    const sys = createSystem({ cpus: 2, interruptRemapping: true });
    const { domain, table } = msix(sys);
    const [a, b] = domain.allocRange(0, 1);
    sys.requestIrq(a!.virq, "a", () => {});
    sys.setAffinity(a!.virq, [1]);
    sys.setCpuOnline(1, false);
    expect(sys.irqDesc(a!.virq)!.effectiveCpu).toBe(0);
    expect(sys.irqDesc(a!.virq)!.affinity.toList()).toBe("0"); // affinity broken: the online CPUs
    expect(sys.irqDesc(b!.virq)!.activated).toBe(false);
    expect(sys.raise(table, 0)).toBe(DELIVERED);
    const before = sys.snapshot();
    expectCode(() => sys.setCpuOnline(0, false), "EBUSY");
    expect(sys.snapshot()).toEqual(before);
  });

  it("refuses a CPU whose vectors the other CPUs cannot take (ENOSPC, lapic_can_unplug_cpu) and changes nothing", () => {
    const sys = createSystem({ cpus: 2, interruptRemapping: true });
    const { domain } = msix(sys, 2048);
    const maps = domain.allocRange(0, 299); // about 150 vectors on each CPU: one CPU cannot take them all
    for (const m of maps) sys.requestIrq(m.virq, "x", () => {});
    const before = sys.snapshot();
    expectCode(() => sys.setCpuOnline(1, false), "ENOSPC");
    expect([sys.snapshot(), sys.isCpuOnline(1)]).toEqual([before, true]);
  });
});

describe("hosts of any size", () => {
  for (const cpus of [1, 40, 256, 512]) {
    it(`${cpus} CPUs: interrupts land on any CPU of the mask, and masks print as the kernel prints them`, () => {
      const sys = createSystem({ cpus, interruptRemapping: true });
      const { domain, table } = msix(sys);
      const last = cpus - 1;
      const { virq } = domain.allocAt(0, { affinity: [last] });
      sys.requestIrq(virq, "x", () => {});
      expect(sys.irqDesc(virq)!.effectiveCpu).toBe(last);
      expect(sys.raise(table, 0)).toBe(DELIVERED);
      expect(sys.irqDesc(virq)!.counts[last]).toBe(1);
      expect(sys.matrix.onlineMaps).toBe(cpus);
    });
  }
});
