// The fixed part of an x86 host as a 6.12 QEMU q35 guest boots it: the VECTOR domain with its
// system vectors, one Intel remapping unit per DMAR scope (INTEL-IR-<n>), the IO-APIC (IO-APIC-0)
// with the legacy interrupts, the DMAR fault interrupts (DMAR-MSI) and the HPET MSI domain
// (HPET-MSI-0). arch/x86/kernel/apic/{vector,io_apic,msi}.c, drivers/iommu/intel/{dmar,irq_remapping}.c,
// arch/x86/kernel/hpet.c.
import { busOf } from "./pci-id.js";
import type { Device } from "./device.js";
import type { IrqContext } from "./context.js";
import type { IrqDesc } from "./irqdesc.js";
import { NR_IRQS_LEGACY } from "./irqdesc.js";
import {
  DOMAIN_BUS_ANY,
  IRQ_DOMAIN_FLAG_HIERARCHY,
  IRQ_DOMAIN_FLAG_MSI,
  IRQ_DOMAIN_NAME_ALLOCATED,
  IrqData,
  IrqDomain,
  NO_IRQ_DOMAIN,
  allocLevel,
  allocParent,
  freeParent,
  irqDataAt,
  type IrqChip,
  type IrqDomainOps,
} from "./irqdomain.js";
import { IRQCHIP_AFFINITY_PRE_STARTUP, IRQCHIP_SKIP_SET_WAKE } from "./msi-flags.js";
import { RemapUnit, type RemapEnv } from "./remapping.js";
import { ISA_IRQ_VECTOR, PIC_CASCADE_IR, Q35_SYSTEM_VECTORS, VectorDomain, type VectorEnv } from "./vector.js";
import { activateIrq, startupIrq } from "./chip.js";

/** The 8259 PIC's chip (i8259A_chip, arch/x86/kernel/i8259.c): no flags. */
export const XT_PIC_CHIP: IrqChip = Object.freeze({ name: "XT-PIC", flags: 0 });

/** gsi_top of a q35 host: one IO-APIC with 24 pins, so dynamic interrupts start at 24 (arch_dynirq_lower_bound). */
export const Q35_GSI_TOP = 24;
const IOAPIC_PINS = 24;

/**
 * The legacy interrupts a q35 guest has requested once booted: irq, IO-APIC pin (ISA IRQ0 is
 * overridden to pin 2), trigger, action. Which drivers request them is the common Debian set
 * (research/kernel-views-facts.md §13; the set itself is not captured).
 */
export const Q35_LEGACY_ACTIONS: readonly { irq: number; pin: number; level: boolean; action: string; flags?: { noBalancing?: boolean; oneshot?: boolean } }[] = [
  // setup_default_timer_irq (arch/x86/kernel/time.c): IRQF_NOBALANCING | IRQF_IRQPOLL | IRQF_TIMER.
  { irq: 0, pin: 2, level: false, action: "timer", flags: { noBalancing: true } },
  { irq: 1, pin: 1, level: false, action: "i8042" },
  { irq: 4, pin: 4, level: false, action: "ttyS0" },
  { irq: 8, pin: 8, level: false, action: "rtc0" },
  // acpi_os_install_interrupt_handler (drivers/acpi/osl.c): IRQF_SHARED | IRQF_ONESHOT; the IO-APIC chip is not ONESHOT_SAFE.
  { irq: 9, pin: 9, level: true, action: "acpi", flags: { oneshot: true } },
  { irq: 12, pin: 12, level: false, action: "i8042" },
];

/** arch_probe_nr_irqs: nr_irqs at boot, from gsi_top and the CPU count. */
export function probeNrIrqs(gsiTop: number, nrCpus: number): number {
  let nr = gsiTop + NR_IRQS_LEGACY + 8 * nrCpus;
  nr += gsiTop <= NR_IRQS_LEGACY ? 8 * nrCpus : gsiTop * 16;
  return Math.min(nr, 256 * nrCpus);
}

export interface PlatformOptions {
  interruptRemapping: boolean;
  /** DMAR units (each with its own remapping table), default 1; each covers an equal range of buses. */
  iommus: number;
  /** A virtual IOMMU (VT-d caching mode): its parent ops are "vIR-" and offer no PCI/IMS. */
  virtualIommu: boolean;
  irteCount: number;
}

/** The fixed domains of the host and where a device's interrupts go. */
export class X86Platform {
  readonly vector: VectorDomain;
  readonly units: readonly RemapUnit[];
  readonly ioapic: IrqDomain;
  readonly dmarMsi: IrqDomain | undefined;
  readonly hpetMsi: IrqDomain;

  constructor(vectorEnv: VectorEnv, remapEnv: RemapEnv, o: PlatformOptions) {
    this.vector = new VectorDomain(vectorEnv, Q35_SYSTEM_VECTORS);
    const units: RemapUnit[] = [];
    if (o.interruptRemapping) for (let i = 0; i < o.iommus; i++) units.push(new RemapUnit(i, o.irteCount, o.virtualIommu, this.vector, remapEnv));
    this.units = units;
    const irParent = units[0]?.domain ?? this.vector.domain;
    const ir = units.length > 0;
    this.ioapic = simpleDomain("IO-APIC-0", irParent, { name: ir ? "IR-IO-APIC" : "IO-APIC", flags: IRQCHIP_SKIP_SET_WAKE | IRQCHIP_AFFINITY_PRE_STARTUP }, IOAPIC_PINS, 0);
    // DMAR-MSI sits on VECTOR even with remapping: the IOMMU's own fault interrupt is not remapped.
    this.dmarMsi = ir
      ? simpleDomain("DMAR-MSI", this.vector.domain, { name: "DMAR-MSI", flags: IRQCHIP_SKIP_SET_WAKE | IRQCHIP_AFFINITY_PRE_STARTUP }, 0, IRQ_DOMAIN_FLAG_MSI)
      : undefined;
    this.hpetMsi = simpleDomain("HPET-MSI-0", irParent, { name: ir ? "IR-HPET-MSI" : "HPET-MSI", flags: IRQCHIP_SKIP_SET_WAKE | IRQCHIP_AFFINITY_PRE_STARTUP }, 0, IRQ_DOMAIN_FLAG_MSI);
  }

  /**
   * The PIC cascade line, irq 2: init_ISA_irqs (arch/x86/kernel/irqinit.c) gave every ISA irq the
   * 8259's chip ("XT-PIC"), handle_level_irq and IRQ_LEVEL; the IO-APIC took over all but this one
   * (io_apic_irqs = ~PIC_IRQS), so it keeps them, with no domain and no vector, never requested.
   */
  #bootCascade(ctx: IrqContext): void {
    const desc = ctx.descs.claim(PIC_CASCADE_IR, ctx.defaultAffinity, 0);
    desc.data = new IrqData(desc, NO_IRQ_DOMAIN, undefined);
    desc.data.chip = XT_PIC_CHIP;
    desc.flow = "handle_level_irq";
    desc.level = true;
    desc.procDir = true;
  }

  /** The remapping unit whose DMAR scope holds bus `bus` (an equal share of the 256 buses each). */
  unitOfBus(bus: number): RemapUnit | undefined {
    if (this.units.length === 0) return undefined;
    return this.units[Math.min(this.units.length - 1, Math.floor((bus * this.units.length) / 256))];
  }

  /** The MSI parent of a device's domains: the remapping unit over its PCI function, or VECTOR. */
  msiParentFor(device: Device): IrqDomain {
    const fn = device.pciFunction;
    const unit = fn ? this.unitOfBus(busOf(fn.requesterId)) : this.units[0];
    return unit?.domain ?? this.vector.domain;
  }

  /** Every fixed domain, in the order debugfs lists them. */
  fixedDomains(): IrqDomain[] {
    return [this.vector.domain, ...this.units.map((u) => u.domain), this.ioapic, ...(this.dmarMsi ? [this.dmarMsi] : []), this.hpetMsi];
  }

  /**
   * Boot: the timer keeps its ISA vector on CPU0 (vector_configure_legacy), the other legacy
   * interrupts get IO-APIC mappings with reservations, the requested ones are activated; then each
   * DMAR unit's fault interrupt (dmar<n>) takes the first dynamic numbers.
   */
  boot(ctx: IrqContext, request: (desc: IrqDesc, name: string) => void): void {
    this.vector.matrix.assign(0, ISA_IRQ_VECTOR(0));
    for (let irq = 0; irq < NR_IRQS_LEGACY; irq++) {
      if (irq === PIC_CASCADE_IR) {
        this.#bootCascade(ctx);
        continue;
      }
      const spec = Q35_LEGACY_ACTIONS.find((a) => a.irq === irq);
      const desc = ctx.descs.claim(irq, ctx.defaultAffinity, 0);
      desc.devName = undefined;
      if (spec?.level) {
        desc.flow = "handle_fasteoi_irq";
        desc.level = true;
      }
      const arg = irq === 0 ? { legacyVector: ISA_IRQ_VECTOR(0) } : {};
      allocLevel(this.ioapic, [desc], arg);
      irqDataAt(desc, this.ioapic)!.hwirq = spec?.pin ?? irq;
      if (irq === 0) {
        activateIrq(ctx, desc, false);
        startupIrq(ctx, desc);
      }
      // init_irq_proc (kernel/irq/proc.c): every boot descriptor with a chip gets /proc/irq/N.
      desc.procDir = true;
      if (spec) {
        desc.noBalancing = spec.flags?.noBalancing ?? false;
        desc.oneshot = spec.flags?.oneshot ?? false;
        request(desc, spec.action);
      }
    }
    for (const unit of this.units) {
      const [desc] = ctx.descs.alloc([ctx.defaultAffinity], 0);
      allocLevel(this.dmarMsi!, [desc!], {});
      irqDataAt(desc!, this.dmarMsi!)!.hwirq = unit.seq;
      request(desc!, `dmar${unit.seq}`);
    }
  }
}

/**
 * A platform domain whose level only passes allocation to its parent and names its chip (the
 * IO-APIC pins, DMAR-MSI, HPET-MSI); moves go to the parent.
 */
function simpleDomain(name: string, parent: IrqDomain, chip: IrqChip, size: number, extraFlags: number): IrqDomain {
  const ops: IrqDomainOps = {
    alloc: (d, descs, arg) => {
      allocParent(d, descs, arg);
      for (const desc of descs) {
        const data = irqDataAt(desc, d)!;
        data.chip = chip;
      }
    },
    free: (d, descs) => freeParent(d, descs),
    setAffinity: (data, mask, force) => data.parent!.domain.ops.setAffinity!(data.parent!, mask, force),
  };
  return new IrqDomain({ name, busToken: DOMAIN_BUS_ANY, parent, ops, flags: IRQ_DOMAIN_FLAG_HIERARCHY | IRQ_DOMAIN_NAME_ALLOCATED | extraFlags, size });
}
