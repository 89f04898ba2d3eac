// kernel/irq/debugfs.c: the state words of an irq descriptor as debugfs prints them, with the
// name tables (irqdesc_states, irqdesc_istates, irqdata_states, irqchip_flags) in their order.
// Bit values: include/linux/irq.h (IRQ_*, IRQD_*, IRQCHIP_*), kernel/irq/internals.h (IRQS_*),
// kernel/irq/irqdomain.c (irqdomain_flags), Linux 6.12 (the values v6.9 shares).
import type { IrqDesc } from "../irqdesc.js";
import {
  IRQ_DOMAIN_FLAG_HIERARCHY,
  IRQ_DOMAIN_FLAG_IPI_PER_CPU,
  IRQ_DOMAIN_FLAG_IPI_SINGLE,
  IRQ_DOMAIN_FLAG_ISOLATED_MSI,
  IRQ_DOMAIN_FLAG_MSI,
  IRQ_DOMAIN_FLAG_MSI_DEVICE,
  IRQ_DOMAIN_FLAG_MSI_PARENT,
  IRQ_DOMAIN_FLAG_NONCORE,
  IRQ_DOMAIN_FLAG_NO_MAP,
  IRQ_DOMAIN_NAME_ALLOCATED,
} from "../irqdomain.js";
import {
  IRQCHIP_EOI_IF_HANDLED,
  IRQCHIP_EOI_THREADED,
  IRQCHIP_ENABLE_WAKEUP_ON_SUSPEND,
  IRQCHIP_IMMUTABLE,
  IRQCHIP_MASK_ON_SUSPEND,
  IRQCHIP_ONESHOT_SAFE,
  IRQCHIP_ONOFFLINE_ENABLED,
  IRQCHIP_SET_TYPE_MASKED,
  IRQCHIP_SKIP_SET_WAKE,
  IRQCHIP_SUPPORTS_LEVEL_MSI,
  IRQCHIP_SUPPORTS_NMI,
} from "../msi-flags.js";

// desc->status_use_accessors (include/linux/irq.h enum, settings.h's _IRQ_* are the same bits).
export const IRQ_LEVEL = 1 << 8;
export const IRQ_PER_CPU = 1 << 9;
export const IRQ_NOPROBE = 1 << 10;
export const IRQ_NOREQUEST = 1 << 11;
export const IRQ_NOAUTOEN = 1 << 12;
export const IRQ_NO_BALANCING = 1 << 13;
export const IRQ_MOVE_PCNTXT = 1 << 14;
export const IRQ_NESTED_THREAD = 1 << 15;
export const IRQ_NOTHREAD = 1 << 16;
export const IRQ_PER_CPU_DEVID = 1 << 17;
export const IRQ_IS_POLLED = 1 << 18;
export const IRQ_DISABLE_UNLAZY = 1 << 19;
export const IRQ_HIDDEN = 1 << 20;

// desc->istate (kernel/irq/internals.h).
export const IRQS_AUTODETECT = 0x1;
export const IRQS_SPURIOUS_DISABLED = 0x2;
export const IRQS_POLL_INPROGRESS = 0x8;
export const IRQS_ONESHOT = 0x20;
export const IRQS_REPLAY = 0x40;
export const IRQS_WAITING = 0x80;
export const IRQS_PENDING = 0x200;
export const IRQS_SUSPENDED = 0x800;
export const IRQS_NMI = 0x2000;
/** Set when the descriptor's /sys/kernel/irq/N kobject was added (irq_sysfs_add); not in the name table. */
export const IRQS_SYSFS = 0x4000;

// irq_common_data::state_use_accessors (include/linux/irq.h), shared by every level of one irq.
export const IRQ_TYPE_EDGE_RISING = 0x1;
export const IRQ_TYPE_EDGE_FALLING = 0x2;
export const IRQ_TYPE_LEVEL_HIGH = 0x4;
export const IRQ_TYPE_LEVEL_LOW = 0x8;
export const IRQD_SETAFFINITY_PENDING = 1 << 8;
export const IRQD_ACTIVATED = 1 << 9;
export const IRQD_NO_BALANCING = 1 << 10;
export const IRQD_PER_CPU = 1 << 11;
export const IRQD_AFFINITY_SET = 1 << 12;
export const IRQD_LEVEL = 1 << 13;
export const IRQD_WAKEUP_STATE = 1 << 14;
export const IRQD_MOVE_PCNTXT = 1 << 15;
export const IRQD_IRQ_DISABLED = 1 << 16;
export const IRQD_IRQ_MASKED = 1 << 17;
export const IRQD_IRQ_INPROGRESS = 1 << 18;
export const IRQD_WAKEUP_ARMED = 1 << 19;
export const IRQD_FORWARDED_TO_VCPU = 1 << 20;
export const IRQD_AFFINITY_MANAGED = 1 << 21;
export const IRQD_IRQ_STARTED = 1 << 22;
export const IRQD_MANAGED_SHUTDOWN = 1 << 23;
export const IRQD_SINGLE_TARGET = 1 << 24;
export const IRQD_DEFAULT_TRIGGER_SET = 1 << 25;
export const IRQD_CAN_RESERVE = 1 << 26;
export const IRQD_HANDLE_ENFORCE_IRQCTX = 1 << 27;
export const IRQD_AFFINITY_ON_ACTIVATE = 1 << 28;
export const IRQD_IRQ_ENABLED_ON_SUSPEND = 1 << 29;
export const IRQD_RESEND_WHEN_IN_PROGRESS = 1 << 30;

/** One entry of a name table (struct irq_bit_descr: BIT_MASK_DESCR(m) names the mask after itself). */
export type BitName = readonly [mask: number, name: string];

/** irqdesc_states: status bits debugfs names (with the settings.h underscore), in table order. */
export const IRQDESC_STATES: readonly BitName[] = [
  [IRQ_NOPROBE, "_IRQ_NOPROBE"],
  [IRQ_NOREQUEST, "_IRQ_NOREQUEST"],
  [IRQ_NOTHREAD, "_IRQ_NOTHREAD"],
  [IRQ_NOAUTOEN, "_IRQ_NOAUTOEN"],
  [IRQ_NESTED_THREAD, "_IRQ_NESTED_THREAD"],
  [IRQ_PER_CPU_DEVID, "_IRQ_PER_CPU_DEVID"],
  [IRQ_IS_POLLED, "_IRQ_IS_POLLED"],
  [IRQ_DISABLE_UNLAZY, "_IRQ_DISABLE_UNLAZY"],
  [IRQ_HIDDEN, "_IRQ_HIDDEN"],
];

/** irqdesc_istates. */
export const IRQDESC_ISTATES: readonly BitName[] = [
  [IRQS_AUTODETECT, "IRQS_AUTODETECT"],
  [IRQS_SPURIOUS_DISABLED, "IRQS_SPURIOUS_DISABLED"],
  [IRQS_POLL_INPROGRESS, "IRQS_POLL_INPROGRESS"],
  [IRQS_ONESHOT, "IRQS_ONESHOT"],
  [IRQS_REPLAY, "IRQS_REPLAY"],
  [IRQS_WAITING, "IRQS_WAITING"],
  [IRQS_PENDING, "IRQS_PENDING"],
  [IRQS_SUSPENDED, "IRQS_SUSPENDED"],
  [IRQS_NMI, "IRQS_NMI"],
];

/** irqdata_states (table order, not bit order). */
export const IRQDATA_STATES: readonly BitName[] = [
  [IRQ_TYPE_EDGE_RISING, "IRQ_TYPE_EDGE_RISING"],
  [IRQ_TYPE_EDGE_FALLING, "IRQ_TYPE_EDGE_FALLING"],
  [IRQ_TYPE_LEVEL_HIGH, "IRQ_TYPE_LEVEL_HIGH"],
  [IRQ_TYPE_LEVEL_LOW, "IRQ_TYPE_LEVEL_LOW"],
  [IRQD_LEVEL, "IRQD_LEVEL"],
  [IRQD_ACTIVATED, "IRQD_ACTIVATED"],
  [IRQD_IRQ_STARTED, "IRQD_IRQ_STARTED"],
  [IRQD_IRQ_DISABLED, "IRQD_IRQ_DISABLED"],
  [IRQD_IRQ_MASKED, "IRQD_IRQ_MASKED"],
  [IRQD_IRQ_INPROGRESS, "IRQD_IRQ_INPROGRESS"],
  [IRQD_PER_CPU, "IRQD_PER_CPU"],
  [IRQD_NO_BALANCING, "IRQD_NO_BALANCING"],
  [IRQD_SINGLE_TARGET, "IRQD_SINGLE_TARGET"],
  [IRQD_MOVE_PCNTXT, "IRQD_MOVE_PCNTXT"],
  [IRQD_AFFINITY_SET, "IRQD_AFFINITY_SET"],
  [IRQD_SETAFFINITY_PENDING, "IRQD_SETAFFINITY_PENDING"],
  [IRQD_AFFINITY_MANAGED, "IRQD_AFFINITY_MANAGED"],
  [IRQD_AFFINITY_ON_ACTIVATE, "IRQD_AFFINITY_ON_ACTIVATE"],
  [IRQD_MANAGED_SHUTDOWN, "IRQD_MANAGED_SHUTDOWN"],
  [IRQD_CAN_RESERVE, "IRQD_CAN_RESERVE"],
  [IRQD_FORWARDED_TO_VCPU, "IRQD_FORWARDED_TO_VCPU"],
  [IRQD_WAKEUP_STATE, "IRQD_WAKEUP_STATE"],
  [IRQD_WAKEUP_ARMED, "IRQD_WAKEUP_ARMED"],
  [IRQD_DEFAULT_TRIGGER_SET, "IRQD_DEFAULT_TRIGGER_SET"],
  [IRQD_HANDLE_ENFORCE_IRQCTX, "IRQD_HANDLE_ENFORCE_IRQCTX"],
  [IRQD_IRQ_ENABLED_ON_SUSPEND, "IRQD_IRQ_ENABLED_ON_SUSPEND"],
  [IRQD_RESEND_WHEN_IN_PROGRESS, "IRQD_RESEND_WHEN_IN_PROGRESS"],
];

/** irqchip_flags (IRQCHIP_AFFINITY_PRE_STARTUP has no entry: set, but never named). */
export const IRQCHIP_FLAG_NAMES: readonly BitName[] = [
  [IRQCHIP_SET_TYPE_MASKED, "IRQCHIP_SET_TYPE_MASKED"],
  [IRQCHIP_EOI_IF_HANDLED, "IRQCHIP_EOI_IF_HANDLED"],
  [IRQCHIP_MASK_ON_SUSPEND, "IRQCHIP_MASK_ON_SUSPEND"],
  [IRQCHIP_ONOFFLINE_ENABLED, "IRQCHIP_ONOFFLINE_ENABLED"],
  [IRQCHIP_SKIP_SET_WAKE, "IRQCHIP_SKIP_SET_WAKE"],
  [IRQCHIP_ONESHOT_SAFE, "IRQCHIP_ONESHOT_SAFE"],
  [IRQCHIP_EOI_THREADED, "IRQCHIP_EOI_THREADED"],
  [IRQCHIP_SUPPORTS_LEVEL_MSI, "IRQCHIP_SUPPORTS_LEVEL_MSI"],
  [IRQCHIP_SUPPORTS_NMI, "IRQCHIP_SUPPORTS_NMI"],
  [IRQCHIP_ENABLE_WAKEUP_ON_SUSPEND, "IRQCHIP_ENABLE_WAKEUP_ON_SUSPEND"],
  [IRQCHIP_IMMUTABLE, "IRQCHIP_IMMUTABLE"],
];

/**
 * irqdomain_flags (kernel/irq/irqdomain.c). The listing of names under a domain's flags exists
 * from v6.11 on; imsim prints it (6.12 text) although its world is v6.9.
 */
export const IRQDOMAIN_FLAG_NAMES: readonly BitName[] = [
  [IRQ_DOMAIN_FLAG_HIERARCHY, "IRQ_DOMAIN_FLAG_HIERARCHY"],
  [IRQ_DOMAIN_NAME_ALLOCATED, "IRQ_DOMAIN_NAME_ALLOCATED"],
  [IRQ_DOMAIN_FLAG_IPI_PER_CPU, "IRQ_DOMAIN_FLAG_IPI_PER_CPU"],
  [IRQ_DOMAIN_FLAG_IPI_SINGLE, "IRQ_DOMAIN_FLAG_IPI_SINGLE"],
  [IRQ_DOMAIN_FLAG_MSI, "IRQ_DOMAIN_FLAG_MSI"],
  [IRQ_DOMAIN_FLAG_ISOLATED_MSI, "IRQ_DOMAIN_FLAG_ISOLATED_MSI"],
  [IRQ_DOMAIN_FLAG_NO_MAP, "IRQ_DOMAIN_FLAG_NO_MAP"],
  [IRQ_DOMAIN_FLAG_MSI_PARENT, "IRQ_DOMAIN_FLAG_MSI_PARENT"],
  [IRQ_DOMAIN_FLAG_MSI_DEVICE, "IRQ_DOMAIN_FLAG_MSI_DEVICE"],
  [IRQ_DOMAIN_FLAG_NONCORE, "IRQ_DOMAIN_FLAG_NONCORE"],
];

/** irq_debug_show_bits: `ind + 12` spaces and the name, one line per set bit in table order; other bits are silent. */
export function showBits(ind: number, word: number, table: readonly BitName[]): string {
  let s = "";
  for (const [mask, name] of table) if ((word & mask) !== 0) s += `${" ".repeat(ind + 12)}${name}\n`;
  return s;
}

/** `0x%08x` of a 32-bit word. */
export function hex8(word: number): string {
  return `0x${(word >>> 0).toString(16).padStart(8, "0")}`;
}

/** desc->status_use_accessors from the model's descriptor (x86's init flags are 0). */
export function irqStatus(desc: IrqDesc): number {
  let w = 0;
  if (desc.level) w |= IRQ_LEVEL;
  if (desc.noBalancing) w |= IRQ_NO_BALANCING;
  // Intel IR sets IRQ_MOVE_PCNTXT on each remapped virq (irq_set_status_flags, irq_remapping.c).
  if (desc.movePcntxt) w |= IRQ_MOVE_PCNTXT;
  return w;
}

/** desc->istate: IRQS_SYSFS for every descriptor (all are in /sys/kernel/irq), with what the flow holds. */
export function irqIstate(desc: IrqDesc): number {
  let w = IRQS_SYSFS;
  if (desc.oneshot) w |= IRQS_ONESHOT;
  if (desc.pending) w |= IRQS_PENDING;
  return w;
}

/** irqd_get(): the IRQD_* word of irq_common_data, built from the descriptor's booleans. */
export function irqdState(desc: IrqDesc): number {
  const bits: [boolean, number][] = [
    [desc.level, IRQD_LEVEL],
    [desc.activated, IRQD_ACTIVATED],
    [desc.started, IRQD_IRQ_STARTED],
    [desc.disabled, IRQD_IRQ_DISABLED],
    [desc.masked, IRQD_IRQ_MASKED],
    [desc.inProgress, IRQD_IRQ_INPROGRESS],
    [desc.noBalancing, IRQD_NO_BALANCING],
    [desc.singleTarget, IRQD_SINGLE_TARGET],
    [desc.movePcntxt, IRQD_MOVE_PCNTXT],
    [desc.affinitySet, IRQD_AFFINITY_SET],
    [desc.moveP, IRQD_SETAFFINITY_PENDING],
    [desc.managed, IRQD_AFFINITY_MANAGED],
    [desc.affinityOnActivate, IRQD_AFFINITY_ON_ACTIVATE],
    [desc.managedShutdown, IRQD_MANAGED_SHUTDOWN],
    [desc.canReserve, IRQD_CAN_RESERVE],
    [desc.handleEnforceIrqctx, IRQD_HANDLE_ENFORCE_IRQCTX],
  ];
  let w = 0;
  for (const [on, bit] of bits) if (on) w |= bit;
  return w >>> 0;
}
