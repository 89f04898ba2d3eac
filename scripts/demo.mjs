// The core demo: one PCI device using MSI-X, a few vectors, interrupts raised, /proc/interrupts printed.
import { createMsixTable, createSystem, MSI_DEFAULT_DOMAIN, procInterrupts, SysfsView } from "@imsim/core";

const system = createSystem({ cpus: 4, interruptRemapping: true });
const nvme = system.addPciDevice({ bdf: "0000:01:00.0" });
const table = createMsixTable(8, nvme.requesterId);
const domain = system.createMsiDomain(nvme, { domainId: MSI_DEFAULT_DOMAIN, store: table, kind: "msix" });
const vectors = domain.allocRange(0, 4);
vectors.forEach(({ index, virq }) => system.requestIrq(virq, index === 0 ? "nvme0q0" : `nvme0q${index}`, () => {}));
for (let n = 0; n < 100; n++) system.raise(table, n % 5);
system.setAffinity(vectors[2].virq, 0b1000);
for (let n = 0; n < 10; n++) system.raise(table, 2);
console.log("$ cat /proc/interrupts");
process.stdout.write(procInterrupts(system));
console.log(`\n$ ls /sys/bus/pci/devices/${nvme.name}/msi_irqs`);
console.log(new SysfsView(system).list(`/sys/bus/pci/devices/${nvme.name}/msi_irqs`).join("  "));
