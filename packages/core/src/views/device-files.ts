// Device files under /sys/devices: the PCI attributes of drivers/pci/pci-sysfs.c (pci_dev_attrs),
// the uevent file (drivers/base/core.c uevent_show/dev_uevent with drivers/pci/pci-driver.c
// pci_uevent), the `driver` link (drivers/base/dd.c driver_sysfs_add) and msi_irqs/<N>
// (kernel/irq/msi.c msi_sysfs_populate_desc, msi_mode_show). Linux 6.12 formats, the same in v6.9.
import type { Device } from "../device.js";
import type { IrqSystem } from "../irq-system.js";
import { NUMA_NO_NODE } from "../msi-irqs.js";
import type { EmitFile } from "./irq-files.js";

/** Receives one symlink of a view: where it is and what it points to (relative, as sysfs makes it). */
export type EmitLink = (path: string, target: string) => void;

/**
 * pci_dev::msix_enabled: MSI-X is on while the function has an MSI-X domain or a domain over its
 * MSI-X table (the NTB's table under an IMS strategy).
 */
function msixEnabled(system: IrqSystem, device: Device): boolean {
  for (const d of system.domains()) if (d.device === device && (d.kind === "msix" || d.ownership.store.msixTable === true)) return true;
  return false;
}

/** pci_dev::msi_enabled: the function has a PCI-MSI domain. Returns it, or undefined. */
function msiDomainOf(system: IrqSystem, device: Device) {
  for (const d of system.domains()) if (d.device === device && d.kind === "msi") return d;
  return undefined;
}

/**
 * Content of a device's msi_irqs/<virq> file (msi_mode_show): "MSI vs. MSIX is per device not per
 * interrupt": `msix` while a PCI function has MSI-X enabled, `msi` otherwise and for every
 * device that is not a PCI function.
 */
export function msiMode(system: IrqSystem, device: Device): string {
  return device.pci && msixEnabled(system, device) ? "msix\n" : "msi\n";
}

/** The relative target of a link in directory `from` to `to` (both absolute under /sys). */
function relativeLink(from: string, to: string): string {
  const depth = from.split("/").filter(Boolean).length - 1;
  return `${"../".repeat(depth)}${to.slice("/sys/".length)}`;
}

const hex = (v: number, digits: number): string => `0x${v.toString(16).padStart(digits, "0")}`;
const HEX = (v: number, digits: number): string => v.toString(16).toUpperCase().padStart(digits, "0");

/** pci_uevent's MODALIAS (also the modalias attribute): pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X. */
function pciModalias(device: Device): string {
  const id = device.pciIds!;
  const c = id.classCode;
  return `pci:v${HEX(id.vendor, 8)}d${HEX(id.device, 8)}sv${HEX(id.subsystemVendor, 8)}sd${HEX(id.subsystemDevice, 8)}bc${HEX(c >>> 16, 2)}sc${HEX((c >>> 8) & 0xff, 2)}i${HEX(c & 0xff, 2)}`;
}

/** The PCI attributes of one function, its uevent and its driver link. */
function pciFiles(system: IrqSystem, dev: Device, emit: EmitFile): void {
  const id = dev.pciIds!;
  const p = dev.sysfsPath;
  emit(`${p}/vendor`, `${hex(id.vendor, 4)}\n`);
  emit(`${p}/device`, `${hex(id.device, 4)}\n`);
  emit(`${p}/subsystem_vendor`, `${hex(id.subsystemVendor, 4)}\n`);
  emit(`${p}/subsystem_device`, `${hex(id.subsystemDevice, 4)}\n`);
  emit(`${p}/revision`, `${hex(id.revision, 2)}\n`);
  emit(`${p}/class`, `${hex(id.classCode, 6)}\n`);
  // irq: the first MSI virq while MSI is enabled; otherwise (MSI-X, none) the INTx line, none here.
  const msi = msiDomainOf(system, dev);
  emit(`${p}/irq`, `${msi ? msi.getVirq(0) : 0}\n`);
  // local_cpus: with CONFIG_NUMA and no node (NUMA_NO_NODE, a q35 guest without -numa), cpu_online_mask.
  emit(`${p}/local_cpus`, `${system.onlineCpus.toHex()}\n`);
  emit(`${p}/local_cpulist`, `${system.onlineCpus.toList()}\n`);
  emit(`${p}/modalias`, `${pciModalias(dev)}\n`);
  emit(`${p}/numa_node`, `${NUMA_NO_NODE}\n`);
  // enable: enable_cnt, 1 once the bound driver called pci_enable_device.
  emit(`${p}/enable`, dev.driver ? "1\n" : "0\n");
  // msi_bus: bridge: its subordinate bus allows MSI; endpoint: !no_msi. Nothing here forbids MSI.
  emit(`${p}/msi_bus`, "1\n");
  const vars = [
    ...(dev.driver ? [`DRIVER=${dev.driver}`] : []),
    `PCI_CLASS=${id.classCode.toString(16).toUpperCase().padStart(4, "0")}`,
    `PCI_ID=${HEX(id.vendor, 4)}:${HEX(id.device, 4)}`,
    `PCI_SUBSYS_ID=${HEX(id.subsystemVendor, 4)}:${HEX(id.subsystemDevice, 4)}`,
    `PCI_SLOT_NAME=${dev.name}`,
    `MODALIAS=${pciModalias(dev)}`,
  ];
  emit(`${p}/uevent`, vars.map((v) => `${v}\n`).join(""));
}

/**
 * Every device's files: PCI functions their attributes, others their uevent (DRIVER= when bound,
 * then what their bus adds; an empty file when neither), `driver` links, and msi_irqs/<virq> for
 * the interrupts of domains whose template asks for device sysfs (MSI_FLAG_DEV_SYSFS).
 */
export function deviceFiles(system: IrqSystem, emit: EmitFile, link: EmitLink): void {
  for (const dev of system.devices()) {
    if (dev.pci && dev.pciIds) pciFiles(system, dev, emit);
    else emit(`${dev.sysfsPath}/uevent`, [...(dev.driver ? [`DRIVER=${dev.driver}`] : []), ...dev.busUevent].map((v) => `${v}\n`).join(""));
    if (dev.driver) link(`${dev.sysfsPath}/driver`, relativeLink(dev.sysfsPath, `/sys/bus/${dev.bus}/drivers/${dev.driver}`));
  }
  for (const domain of system.domains()) {
    if (!domain.devSysfs) continue;
    const mode = msiMode(system, domain.device);
    for (const desc of domain.descs()) emit(`${domain.device.sysfsPath}/msi_irqs/${desc.virq}`, mode);
  }
}
