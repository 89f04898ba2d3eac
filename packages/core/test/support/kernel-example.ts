import { expect } from "vitest";
import { Entry16Store, createSystem, type IrqSystem } from "../../src/index.js";
import { addMsixDevice } from "./helpers.js";

/**
 * The situation of the /proc/interrupts lines a 6.12 kernel printed on a 2-CPU q35 guest
 * (../shared/research/kernel-formats.md): a PCIe port's PME/AER vector on MSI-X (virq 24 without
 * remapping), a function's MSI vector (25), an nvme queue vector on CPU0 that fired 64 times (27).
 * With remapping dmar0 takes 24 and everything moves up by one.
 */
export function kernelExample(ir: boolean): IrqSystem {
  const sys = createSystem({ cpus: 2, interruptRemapping: ir });
  const filler = addMsixDevice(sys, "0000:00:10.0", 16);
  const pme = addMsixDevice(sys, "0000:00:04.0", 4);
  const v24 = pme.domain.allocAt(0).virq;
  const msiDev = sys.addPciDevice({ bdf: "0000:00:05.0" });
  const msi = sys.createMsiDomain(msiDev, { domainId: 0, store: new Entry16Store({ chipName: "PCI-MSI", size: 2, requesterId: 0x0028, pasid: false }), kind: "msi" });
  const v25 = msi.allocAt(0).virq;
  filler.domain.allocAt(8); // virq 26
  const nvme = addMsixDevice(sys, "0000:01:00.0", 4);
  const v27 = nvme.domain.allocAt(1, { affinity: 0b01 }).virq;
  expect([v24, v25, v27]).toEqual(ir ? [25, 26, 28] : [24, 25, 27]);
  for (const v of [v24, v25]) {
    sys.requestIrq(v, "PCIe PME", () => {});
    sys.requestIrq(v, "aerdrv", () => {});
  }
  sys.requestIrq(v27, "nvme0q1", () => {});
  for (let i = 0; i < 64; i++) sys.raise(nvme.store, 1);
  return sys;
}
