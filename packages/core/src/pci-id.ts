// PCI bus/device/function and requester ids (PCI_DEVID, PCI_BUS_NUM, PCI_SLOT, PCI_FUNC in
// include/linux/pci.h and include/uapi/linux/pci.h).
import { ImsimError, describe } from "./errors.js";

/**
 * A PCI address `DDDD:BB:DD.F` (domain:bus:device.function, as `lspci -D` and sysfs print it) and
 * its 16-bit requester id `bus << 8 | device << 3 | function` (PCI_DEVID in include/linux/pci.h).
 */
export interface PciAddress {
  domain: number;
  bus: number;
  device: number;
  fn: number;
}

const BDF = /^([0-9a-f]{4}):([0-9a-f]{2}):([0-1][0-9a-f])\.([0-7])$/;

export function parseBdf(text: unknown): PciAddress {
  const m = typeof text === "string" ? BDF.exec(text.toLowerCase()) : null;
  if (!m) throw new ImsimError("EINVAL", `PCI address must look like 0000:6a:01.0, got ${describe(text)}`);
  const address = {
    domain: parseInt(m[1]!, 16),
    bus: parseInt(m[2]!, 16),
    device: parseInt(m[3]!, 16),
    fn: parseInt(m[4]!, 16),
  };
  if (address.device > 0x1f) throw new ImsimError("EINVAL", `PCI device number ${address.device} of ${text} exceeds 31`);
  return address;
}

export function formatBdf(a: PciAddress): string {
  const h = (v: number, w: number) => v.toString(16).padStart(w, "0");
  return `${h(a.domain, 4)}:${h(a.bus, 2)}:${h(a.device, 2)}.${a.fn}`;
}

export function requesterIdOf(a: PciAddress): number {
  return (a.bus << 8) | (a.device << 3) | a.fn;
}

/** "6a:01.0" form of a requester id (bus:dev.fn), as the IOMMU fault log prints it. */
export function formatRequesterId(rid: number): string {
  const h = (v: number) => v.toString(16).padStart(2, "0");
  return `${h(rid >>> 8)}:${h((rid >>> 3) & 0x1f)}.${rid & 7}`;
}

export function busOf(rid: number): number {
  return (rid >>> 8) & 0xff;
}
