// The templates of per-device MSI domains (struct msi_domain_template): PCI MSI and MSI-X from
// drivers/pci/msi/irqdomain.c, PCI/IMS as pci_create_ims_domain() required it (v6.2-v6.9), and the
// checks the x86 MSI parent applies when a device domain is created (x86_init_dev_msi_info,
// arch/x86/kernel/apic/msi.c).
import { ImsimError } from "./errors.js";
import {
  DOMAIN_BUS_ANY,
  DOMAIN_BUS_DMAR,
  DOMAIN_BUS_PCI_DEVICE_IMS,
  DOMAIN_BUS_PCI_DEVICE_MSI,
  DOMAIN_BUS_PCI_DEVICE_MSIX,
  type IrqDomain,
} from "./irqdomain.js";
import {
  IRQCHIP_AFFINITY_PRE_STARTUP,
  IRQCHIP_ONESHOT_SAFE,
  IRQCHIP_SKIP_SET_WAKE,
  MSI_FLAG_ACTIVATE_EARLY,
  MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS,
  MSI_FLAG_DEV_SYSFS,
  MSI_FLAG_FREE_MSI_DESCS,
  MSI_FLAG_MULTI_PCI_MSI,
  MSI_FLAG_MUST_REACTIVATE,
  MSI_FLAG_PCI_IMS,
  MSI_FLAG_PCI_MSIX,
  MSI_FLAG_PCI_MSIX_ALLOC_DYN,
  MSI_FLAG_USE_DEF_CHIP_OPS,
  MSI_FLAG_USE_DEF_DOM_OPS,
} from "./msi-flags.js";

/** Which kind of device domain: what msi_irqs/ prints and which rules apply. */
export type MsiDomainKind = "msi" | "msix" | "ims";

/** struct msi_domain_template, reduced to what the model acts on. */
export interface MsiTemplate {
  readonly kind: MsiDomainKind;
  /** Chip name stem; the domain's chip is "<parent prefix><stem>-<device>". */
  readonly chipName: string;
  readonly busToken: number;
  /** MSI_FLAG_* the template asks for. */
  readonly flags: number;
  readonly chipFlags: number;
  /** Entries can be masked, so early activation may use a reserved vector (msi_check_reservation_mode). */
  readonly reservable: boolean;
}

/** MSI_COMMON_FLAGS of the PCI templates, with reservation mode (MSI_REACTIVATE) as x86 builds it. */
const PCI_COMMON = MSI_FLAG_FREE_MSI_DESCS | MSI_FLAG_ACTIVATE_EARLY | MSI_FLAG_DEV_SYSFS | MSI_FLAG_MUST_REACTIVATE;

/** "PCI-MSIX": the template of pci_setup_msix_device_domain(). */
export function pciMsixTemplate(chipName = "PCI-MSIX"): MsiTemplate {
  return Object.freeze({
    kind: "msix",
    chipName,
    busToken: DOMAIN_BUS_PCI_DEVICE_MSIX,
    flags: PCI_COMMON | MSI_FLAG_PCI_MSIX | MSI_FLAG_PCI_MSIX_ALLOC_DYN,
    chipFlags: IRQCHIP_ONESHOT_SAFE,
    reservable: true,
  });
}

/** "PCI-MSI": the template of pci_setup_msi_device_domain() (per-vector masking assumed). */
export function pciMsiTemplate(chipName = "PCI-MSI"): MsiTemplate {
  return Object.freeze({
    kind: "msi",
    chipName,
    busToken: DOMAIN_BUS_PCI_DEVICE_MSI,
    flags: PCI_COMMON | MSI_FLAG_MULTI_PCI_MSI,
    chipFlags: IRQCHIP_ONESHOT_SAFE,
    reservable: true,
  });
}

/**
 * A PCI/IMS template as pci_create_ims_domain() required one: bus token DOMAIN_BUS_PCI_DEVICE_IMS,
 * simple descriptor allocation and freeing, no early activation (the message is written when the
 * interrupt is requested) and, as the IDXD IMS irqchip, no msi_irqs/ files unless `devSysfs`.
 */
export function imsTemplate(chipName: string, options: { devSysfs?: boolean } = {}): MsiTemplate {
  return Object.freeze({
    kind: "ims",
    chipName,
    busToken: DOMAIN_BUS_PCI_DEVICE_IMS,
    flags: MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS | MSI_FLAG_FREE_MSI_DESCS | MSI_FLAG_PCI_IMS | (options.devSysfs ? MSI_FLAG_DEV_SYSFS : 0),
    chipFlags: IRQCHIP_ONESHOT_SAFE,
    reservable: false,
  });
}

/**
 * x86_init_dev_msi_info: whether `parent` takes a device domain of `template`, and with which
 * flags. The parent must be VECTOR or a remapping unit; IMS needs a parent that advertises
 * MSI_FLAG_PCI_IMS (a physical remapping unit: not VECTOR, not a virtual IOMMU's "vIR-").
 * EOPNOTSUPP otherwise. Returns the flags restricted to what the parent supports.
 */
export function acceptTemplate(parent: IrqDomain, template: MsiTemplate, device: string): { flags: number; chipFlags: number } {
  const pops = parent.msiParent;
  if (!pops || (parent.busToken !== DOMAIN_BUS_ANY && parent.busToken !== DOMAIN_BUS_DMAR)) {
    throw new ImsimError("EOPNOTSUPP", `${parent.name} is not an MSI parent for the device domains of ${device}`);
  }
  switch (template.busToken) {
    case DOMAIN_BUS_PCI_DEVICE_MSI:
    case DOMAIN_BUS_PCI_DEVICE_MSIX:
      break;
    case DOMAIN_BUS_PCI_DEVICE_IMS:
      if ((pops.supportedFlags & MSI_FLAG_PCI_IMS) === 0) {
        const why = parent.busToken === DOMAIN_BUS_ANY ? "a host without interrupt remapping" : `${parent.name} is a virtual IOMMU (${pops.prefix})`;
        throw new ImsimError("EOPNOTSUPP", `no IMS domain for ${device}: ${why} does not offer PCI/IMS (MSI_FLAG_PCI_IMS), as in Linux v6.2-v6.9`);
      }
      break;
    default:
      throw new ImsimError("EOPNOTSUPP", `bus token ${template.busToken} of ${template.chipName} is not a PCI device MSI domain`);
  }
  const flags = (template.flags & pops.supportedFlags) | MSI_FLAG_USE_DEF_DOM_OPS | MSI_FLAG_USE_DEF_CHIP_OPS;
  return { flags, chipFlags: template.chipFlags | IRQCHIP_SKIP_SET_WAKE | IRQCHIP_AFFINITY_PRE_STARTUP };
}
