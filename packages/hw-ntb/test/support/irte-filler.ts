import { Entry16Store, MSI_DEFAULT_DOMAIN, parseBdf, requesterIdOf, type IrqSystem } from "@imsim/core";

/**
 * Takes `count` more IRTEs of `system`'s remapping table with the MSI-X vectors of another PCI
 * function (alloc_irte hands out the lowest free entries), so that the next interrupt allocated
 * gets an IRTE handle of at least the ones in use + `count`. Returns a function removing that
 * function again.
 */
export function takeIrtes(system: IrqSystem, count: number, bdf = "0000:06:00.0"): () => void {
  const dev = system.addPciDevice({ bdf });
  const store = new Entry16Store({ chipName: "PCI-MSIX", size: count, requesterId: requesterIdOf(parseBdf(bdf)), pasid: false });
  system.createMsiDomain(dev, { domainId: MSI_DEFAULT_DOMAIN, store, kind: "msix" }).allocRange(0, count - 1);
  return () => system.removeDevice(dev);
}
