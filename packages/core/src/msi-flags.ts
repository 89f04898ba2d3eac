// MSI domain flags (include/linux/msi.h, v6.2-v6.9) and irq chip flags (include/linux/irq.h).

/** Fill NULL domain ops with the defaults. */
export const MSI_FLAG_USE_DEF_DOM_OPS = 1 << 0;
/** Fill NULL chip ops with the defaults. */
export const MSI_FLAG_USE_DEF_CHIP_OPS = 1 << 1;
/** Activate the interrupt at allocation (PCI MSI/MSI-X): the message is written right away. */
export const MSI_FLAG_ACTIVATE_EARLY = 1 << 2;
/** Reactivate at startup: with early activation, the reservation mode of x86. */
export const MSI_FLAG_MUST_REACTIVATE = 1 << 3;
/** Populate the device's msi_irqs/ in sysfs. */
export const MSI_FLAG_DEV_SYSFS = 1 << 4;
/** The core allocates the descriptors (one per index) for range allocations. */
export const MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS = 1 << 5;
/** The core frees the descriptors with the interrupts. */
export const MSI_FLAG_FREE_MSI_DESCS = 1 << 6;
/** Generic flags occupy bits 0-15 (MSI_GENERIC_FLAGS_MASK). */
export const MSI_GENERIC_FLAGS_MASK = 0xffff;
export const MSI_FLAG_MULTI_PCI_MSI = 1 << 16;
export const MSI_FLAG_PCI_MSIX = 1 << 17;
export const MSI_FLAG_LEVEL_CAPABLE = 1 << 18;
export const MSI_FLAG_MSIX_CONTIGUOUS = 1 << 19;
export const MSI_FLAG_PCI_MSIX_ALLOC_DYN = 1 << 20;
/** PCI/IMS support of a parent (v6.2-v6.9 only; removed with IMS in v6.10). */
export const MSI_FLAG_PCI_IMS = 1 << 21;

/** What the x86 vector domain supports as an MSI parent (arch/x86/include/asm/msi.h). */
export const X86_VECTOR_MSI_FLAGS_SUPPORTED = MSI_GENERIC_FLAGS_MASK | MSI_FLAG_PCI_MSIX | MSI_FLAG_PCI_MSIX_ALLOC_DYN;

// irq_chip flags (include/linux/irq.h).
export const IRQCHIP_SET_TYPE_MASKED = 1 << 0;
export const IRQCHIP_EOI_IF_HANDLED = 1 << 1;
export const IRQCHIP_MASK_ON_SUSPEND = 1 << 2;
export const IRQCHIP_ONOFFLINE_ENABLED = 1 << 3;
export const IRQCHIP_SKIP_SET_WAKE = 1 << 4;
export const IRQCHIP_ONESHOT_SAFE = 1 << 5;
export const IRQCHIP_EOI_THREADED = 1 << 6;
export const IRQCHIP_SUPPORTS_LEVEL_MSI = 1 << 7;
export const IRQCHIP_SUPPORTS_NMI = 1 << 8;
export const IRQCHIP_ENABLE_WAKEUP_ON_SUSPEND = 1 << 9;
export const IRQCHIP_AFFINITY_PRE_STARTUP = 1 << 10;
export const IRQCHIP_IMMUTABLE = 1 << 11;
