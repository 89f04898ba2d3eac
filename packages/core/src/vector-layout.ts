// The x86 vector layout (arch/x86/include/asm/irq_vectors.h, v6.9) and the VECTOR level's per-irq
// state (struct apic_chip_data, arch/x86/kernel/apic/vector.c).
import type { IrqChip } from "./irqdomain.js";
import type { IrqDesc } from "./irqdesc.js";

// Vector layout, arch/x86/include/asm/irq_vectors.h (v6.9).
/** Vectors 0-31 are CPU exceptions; devices get vectors from here. */
export const FIRST_EXTERNAL_VECTOR = 0x20;
/** LOCAL_TIMER_VECTOR: the first system vector in v6.9 (v6.10+ moves it to 0xeb with posted MSI). */
export const FIRST_SYSTEM_VECTOR = 0xec;
export const NR_VECTORS = 256;
/** The vector of interrupts that hold no real vector (reserved or managed-shut-down): lands in spurious_interrupt. */
export const MANAGED_IRQ_SHUTDOWN_VECTOR = 0xef;
export const IA32_SYSCALL_VECTOR = 0x80;
/** ISA_IRQ_VECTOR(irq): the legacy PIC vectors 0x30-0x3f. */
export const ISA_IRQ_VECTOR = (irq: number): number => 0x30 + irq;
/** The PIC cascade line, whose vector stays a system vector (lapic_assign_system_vectors). */
export const PIC_CASCADE_IR = 2;

// System vectors (arch/x86/include/asm/irq_vectors.h, arch/x86/include/asm/trapnr.h): the
// /proc/interrupts rows of arch_show_interrupts exist where their vector is installed.
export const SPURIOUS_APIC_VECTOR = 0xff;
export const ERROR_APIC_VECTOR = 0xfe;
export const RESCHEDULE_VECTOR = 0xfd;
export const CALL_FUNCTION_VECTOR = 0xfc;
export const CALL_FUNCTION_SINGLE_VECTOR = 0xfb;
export const THERMAL_APIC_VECTOR = 0xfa;
export const THRESHOLD_APIC_VECTOR = 0xf9;
export const REBOOT_VECTOR = 0xf8;
export const X86_PLATFORM_IPI_VECTOR = 0xf7;
export const IRQ_WORK_VECTOR = 0xf6;
export const DEFERRED_ERROR_VECTOR = 0xf4;
export const HYPERVISOR_CALLBACK_VECTOR = 0xf3;
/** KVM's posted-interrupt notification vector (0xf2; 0xf1 wakeup, 0xf0 nested), installed with CONFIG_KVM. */
export const POSTED_INTR_VECTOR = 0xf2;
export const LOCAL_TIMER_VECTOR = 0xec;
/** X86_TRAP_MC: the machine-check exception, installed with CONFIG_X86_MCE. */
export const X86_TRAP_MC = 18;

/**
 * The vectors a 6.12 q35 guest marks as system vectors (exceptions 0-19 and 21, the PIC cascade,
 * the syscall gate, the timer, the deferred-error and IPI vectors 0xf4, 0xf6-0xff): the `System:`
 * line of a real capture (../shared/research/kernel-formats.md), installed by idt.c's tables.
 */
export const Q35_SYSTEM_VECTORS: readonly number[] = [
  ...Array.from({ length: 20 }, (_, i) => i),
  21,
  ISA_IRQ_VECTOR(PIC_CASCADE_IR),
  IA32_SYSCALL_VECTOR,
  0xec,
  0xf4,
  ...Array.from({ length: 10 }, (_, i) => 0xf6 + i),
];

/** struct apic_chip_data: the vector level's state of one interrupt. */
export class ApicData {
  vector = 0;
  cpu = 0;
  prevVector = 0;
  prevCpu = 0;
  moveInProgress = false;
  isManaged = false;
  canReserve = false;
  hasReserved = false;
  /** On a CPU's cleanup list (apicd->clist hashed): the previous vector waits for the timer. */
  cleanupPending = false;
  /** hw_irq_cfg: what the message targets (may be the shutdown vector while no real one is held). */
  hwVector = 0;
  hwCpu = 0;
  /** A legacy interrupt on its fixed ISA vector. */
  legacy = false;
}

/** The lapic_controller chip of the VECTOR level. */
export const APIC_CHIP: IrqChip = Object.freeze({ name: "APIC", flags: 0 });

/** The apic chip data of `desc` (its VECTOR level), or undefined. */
export function apicDataOf(desc: IrqDesc): ApicData | undefined {
  const bottom = desc.bottom;
  return bottom?.chipData instanceof ApicData ? bottom.chipData : undefined;
}
