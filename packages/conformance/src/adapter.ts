import type { DeliveryResult, ImsStrategy, IrqSystem, Queue, QueueOptions, StrategyFactory } from "@imsim/core";

/**
 * What a hardware/strategy pair supports. Tests for an absent capability are reported as skipped
 * with the reason in their name; a test checks that the manifest matches the methods present.
 */
export interface Capabilities {
  /** Queues can carry a PASID and entries are written with it. */
  pasid: boolean;
  /** The system runs with interrupt remapping (IRTEs, source-id and PASID validation). */
  interruptRemapping: boolean;
  /** The device's writes carry a DMA alias (e.g. NTB proxy ids) that IR must accept. */
  dmaAliases: boolean;
  /** Interrupts are triggered by a peer writing the message (NTB), not by the device itself. */
  peerTrigger: boolean;
  /** The path can go down and up (NTB link); `linkDown`/`linkUp` exist. */
  link: boolean;
}

export interface HardwareOptions {
  cpus?: number;
}

/** One live device of the hardware model, driven through a strategy. */
export interface HardwareInstance {
  readonly supports: Capabilities;
  /** The system whose interrupts are checked (for NTB: the host that owns the interrupts). */
  readonly system: IrqSystem;
  readonly strategy: ImsStrategy;
  /**
   * Creates a queue the hardware's way (IDXD: a work queue; NTB: a client queue pair). The suite
   * passes `name`, `slice` (taken from the top of the store), and sometimes `nvec`, `pasid` and
   * `affinity`: the hardware must honour them (pass them on to the strategy) and may add its own
   * set-up. Whatever interrupts the queue has afterwards are read back with `strategy.irqs()`.
   */
  createQueue(options: QueueOptions): Queue;
  /** Destroys a queue the hardware's way. */
  destroyQueue(queue: Queue): void;
  /** Raises the interrupt at queue index `index` as the device would (IDXD: a completion; NTB: a peer write). */
  raise(queue: Queue, index: number): DeliveryResult;
  /**
   * Issues the interrupt write of queue index `index` with a chosen requester id and/or PASID
   * (-1 none) instead of the real ones: how tests forge a wrong source id or a stale PASID.
   */
  writeAs(queue: Queue, index: number, forged: { requesterId?: number; pasid?: number }): DeliveryResult;
  /** Requester id the hardware's writes carry for this queue (the alias for NTB). */
  wireRequesterId(queue: Queue): number;
  /**
   * Takes the path down (`supports.link`): until `linkUp`, `raise` throws an ImsimError ENOLINK and
   * changes nothing; every other operation (allocation, masking, local replay on unmask) works.
   */
  linkDown?(): void;
  linkUp?(): void;
  /** Removes the device (hot-unplug): everything it owns is released. */
  removeDevice(): void;
  /**
   * Releases everything the instance created; the system returns to its initial snapshot (no
   * devices, domains, virqs, vectors, IRTEs, descriptors, store entries or actions). Must also work
   * after `removeDevice`.
   */
  teardown(): void;
}

/** A hardware model as the conformance suite drives it. */
export interface HardwareAdapter {
  readonly name: string;
  create(strategyFactory: StrategyFactory, options?: HardwareOptions): HardwareInstance;
}
