// The hardware contract: what a simulated device (IDXD, NTB, generic models) offers the conformance
// suite and the bench. No kernel counterpart; it stands for the device side of drivers/dma/idxd and drivers/ntb.
import type { DeliveryResult, IrqSystem } from "./irq-system.js";

/**
 * What `raiseAs` returns when the device itself refused to raise (DSA: the submitter's PASID does
 * not match the interrupt entry's, DSA spec §5.4; the descriptor completes with an invalid-handle
 * status and nothing reaches the IOMMU).
 */
export const DEVICE_REFUSED = 4;
import type { ImsStrategy, Queue, QueueOptions, StrategyFactory } from "./strategy.js";

// The hardware adapter contract: how a device model (@imsim/hw-idxd, @imsim/hw-ntb, your own) is
// driven through a strategy, by the conformance suite (@imsim/conformance) and the bench. It lives
// in core because every hardware package depends on core and nothing else: a hardware package's
// published types then need no package it does not depend on.

/**
 * What a hardware/strategy pair supports. The conformance suite reads it once per pair, from a probe
 * instance, when it registers its tests: tests of an absent capability are reported as passing with
 * the reason in their name. A test checks that the manifest matches what is present (the
 * "checked against" of each field).
 */
export interface Capabilities {
  /** Queues can carry a PASID and entries are written with it. Checked against `strategy.store.supportsPasid`. */
  pasid: boolean;
  /** The system runs with interrupt remapping (IRTEs and their source-id check; VT-d checks no PASID). Checked against `system.interruptRemapping`. */
  interruptRemapping: boolean;
  /**
   * The device checks a submitter's PASID against the interrupt entry's before it raises it (DSA's
   * IMS entries, spec §5.4); `raiseAs` is present exactly then.
   */
  pasidCheck: boolean;
  /**
   * The device's writes carry a DMA alias (e.g. NTB proxy ids) that IR must accept. Checked against
   * the DMA aliases of the strategy host's PCI function.
   */
  dmaAliases: boolean;
  /** Interrupts are triggered by a peer writing the message (NTB), not by the device itself. */
  peerTrigger: boolean;
  /** The path can go down and up (NTB link). Checked against `linkDown`/`linkUp` being present. */
  link: boolean;
}

/** Options every hardware adapter takes; an adapter may accept more (its `create`'s second type argument). */
export interface HardwareOptions {
  /** CPUs of the simulated host(s); the adapter's default when omitted (4 for both packages here). Ignored with `system`. */
  cpus?: number;
  /**
   * A host to put the device on instead of a new system, so that several instances share one host
   * (the bench's scale run puts 64 devices on one 256-CPU host). The instance's `system` is then
   * this one, and `teardown` removes only what the instance added. For a pair of hosts (NTB) it is
   * the host that owns the interrupts; the peer is still made by the adapter.
   */
  system?: IrqSystem;
  /**
   * PCI bus number of the device (0-255), so that devices on one host spread over its remapping
   * units (each covers an equal share of the buses). EEXIST when the adapter's device number on that
   * bus is taken; the adapter's default bus when omitted.
   */
  bus?: number;
}

/**
 * One live device of a hardware model, driven through one strategy. Every instance owns its own
 * system unless created on a given one (`HardwareOptions.system`); the suite creates one per test.
 */
export interface HardwareInstance {
  /** What this pair supports; read once when the suite registers its tests, so it must not change. */
  readonly supports: Capabilities;
  /** The system whose interrupts are checked (for NTB: the host that owns the interrupts). */
  readonly system: IrqSystem;
  /**
   * The strategy `create` made with the factory it was given, on the device's store. Its `system`
   * is `system` above. The suite places its queues in slices from the top of `strategy.store` (up
   * to four slices of up to eight entries), so entries a device keeps for itself at the bottom are
   * left alone.
   */
  readonly strategy: ImsStrategy;
  /**
   * Creates a queue the hardware's way (IDXD: an IMS client of a work queue; NTB: a queue on the
   * function's table). The suite passes `name`, `slice`, and sometimes `nvec`, `pasid` and
   * `affinity`: the hardware must honour them (pass them on to the strategy) and may add its own
   * set-up. The suite reads the queue's interrupts back with `strategy.irqs()`. It also calls it
   * with bad options (EINVAL, as the strategy's `createQueue` gives) and with an allocation failure
   * injected at each step in turn: a failure must leave nothing behind, the hardware's own steps
   * included.
   */
  createQueue(options: QueueOptions): Queue;
  /** Destroys a queue the hardware's way: its interrupts and the hardware's set-up for it are released. */
  destroyQueue(queue: Queue): void;
  /**
   * Raises the interrupt at queue index `index` as the device would (IDXD: a completion; NTB: the
   * peer's write). The suite calls it after every operation that may move an interrupt, and expects
   * exactly the handlers of that interrupt to run once (`DELIVERED`), or none while it is masked
   * (`HELD`). An index the queue does not hold is ENOENT; a handle the strategy does not know throws
   * what `strategy.irqs` would; with the link down, ENOLINK. A throw changes nothing.
   */
  raise(queue: Queue, index: number): DeliveryResult;
  /**
   * Issues the interrupt write of queue index `index` with a chosen requester id in place of the
   * real one: how the suite forges a wrong source id or uses an alias. With nothing forged it is
   * the real write and must be delivered as `raise` would. Errors as `raise`. (`pasid` is the
   * write's PASID prefix; interrupt remapping does not check it.)
   */
  writeAs(queue: Queue, index: number, forged: { requesterId?: number; pasid?: number }): DeliveryResult;
  /**
   * Raises the interrupt at queue index `index` as work submitted under `submitter.pasid` (-1 none)
   * would: the device checks the PASID against the entry's (supports.pasidCheck) and returns
   * DEVICE_REFUSED, raising nothing, when they differ; otherwise as `raise`.
   */
  raiseAs?(queue: Queue, index: number, submitter: { pasid: number }): DeliveryResult | typeof DEVICE_REFUSED;
  /** Requester id the hardware's writes carry for this queue (the alias for NTB); must equal `strategy.requesterId(queue)`. */
  wireRequesterId(queue: Queue): number;
  /**
   * Takes the path down. Present exactly when `supports.link` (with `linkUp`). Until `linkUp`,
   * `raise` throws ImsimError ENOLINK and changes nothing; every other operation (allocation,
   * masking, local replay on unmask) works.
   */
  linkDown?(): void;
  /** Brings the path back up: `raise` works again. */
  linkUp?(): void;
  /**
   * Removes the device (hot-unplug): every interrupt and queue it holds is released, and the
   * strategy refuses further work with ENODEV. `teardown` must still work afterwards.
   */
  removeDevice(): void;
  /**
   * Releases everything the instance created; the system returns to its boot snapshot
   * (`system.bootSnapshot`: no devices, per-device domains, descriptors or store entries, and only
   * the host's own interrupts, vectors, IRTEs and actions). The suite calls
   * it at the end of every test, with injected faults cleared, and also after `removeDevice`.
   */
  teardown(): void;
}

/**
 * A hardware model as the conformance suite and the bench drive it. `Instance` and `Options` let a
 * package describe what its own adapter adds (`IdxdHardwareAdapter`: the device and driver beneath);
 * such an adapter is still a `HardwareAdapter`.
 */
export interface HardwareAdapter<Instance extends HardwareInstance = HardwareInstance, Options extends HardwareOptions = HardwareOptions> {
  /** Shown in test names (`<strategy> × <name>`) and reports. */
  readonly name: string;
  /**
   * A fresh instance on a new system, its strategy made with `strategyFactory`. The suite calls it
   * once for a probe when it registers tests (then tears that down) and once per test. A throw is
   * reported as the pair's setup test failing; it must leave nothing behind.
   */
  create(strategyFactory: StrategyFactory, options?: Options): Instance;
}
