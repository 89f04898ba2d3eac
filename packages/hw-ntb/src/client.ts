import { ImsimError, checkInt, type IrqHandler, type IrqSystem, type Queue, type QueueIrq } from "@imsim/core";
import type { NtbMsiDesc } from "./ntb-msi.js";
import type { NtbWriteResult } from "./ntb-device.js";
import type { NtbTransport } from "./transport.js";

/**
 * Whether the handler of `virq` is running now: freeing it then is EBUSY in core (free_irq would
 * wait for itself), so the client refuses before it withdraws or frees anything.
 */
function inHandler(system: IrqSystem, virq: number): boolean {
  return system.irqDesc(virq)?.inProgress === true;
}

/** The name ntb_transport requests its queue pairs' interrupts with (KBUILD_MODNAME). */
export const NTB_TRANSPORT_ACTION = "ntb_transport";

/** The action of a client without a handler: the interrupt is requested (and counted) all the same. */
function noop(): void {}

/** Called on the owning host when the peer triggers queue pair `qp`'s interrupt `vector`. */
export type NtbClientHandler = (qp: number, vector: number, virq: number) => void;

export interface NtbClientOptions {
  /** Queue pairs of the client (ntb_transport_create_queue once per pair). */
  queuePairs: number;
  /** Interrupts each queue pair starts with, default 1 (ntb_transport: one MSI per queue pair). */
  vectors?: number;
  /**
   * Handler for this host's interrupts. Without one the interrupts are still requested (with an
   * action that does nothing), as ntb_msi requires before it can publish a descriptor.
   */
  handler?: NtbClientHandler;
}

/**
 * A client of the transport with its queue pairs, like ntb_netdev or ntb_perf on ntb_transport:
 * on each host the same client exists with the same queue pairs. Queue pair `qp` is one strategy
 * queue over MSI-X entries [(firstQp+qp)*v, (firstQp+qp)*v+v) of the NTB function (v =
 * vectorsPerQp). Interrupts it owns are triggered by the peer's client of the same name:
 * `hostB.client("net").trigger(0, 1)` fires host A's queue pair 0, vector 1.
 */
export class NtbClient {
  readonly name: string;
  readonly transport: NtbTransport;
  /** Global number of the client's first queue pair on this host. */
  readonly firstQp: number;
  readonly queuePairs: number;
  readonly #initialVectors: number;
  readonly #handler: NtbClientHandler | undefined;
  readonly #queues: (Queue | undefined)[];
  #destroyed = false;

  /** @internal Use NtbTransport.createClient. */
  constructor(transport: NtbTransport, name: string, firstQp: number, queuePairs: number, vectors: number, handler: NtbClientHandler | undefined) {
    if (handler !== undefined && typeof handler !== "function") throw new ImsimError("EINVAL", `handler of client ${name} must be a function`);
    this.transport = transport;
    this.name = name;
    this.firstQp = firstQp;
    this.queuePairs = queuePairs;
    this.#initialVectors = vectors;
    this.#handler = handler;
    this.#queues = new Array<Queue | undefined>(queuePairs).fill(undefined);
  }

  /** @internal Creates the queue pairs and their first interrupts, then publishes them together; all or nothing. */
  _start(): void {
    try {
      const entries: number[] = [];
      for (let qp = 0; qp < this.queuePairs; qp++) {
        const v = this.transport.vectorsPerQp;
        const queue = this.transport.strategy.createQueue({
          name: `${this.name}-qp${qp}`,
          slice: { base: (this.firstQp + qp) * v, count: v },
        });
        this.#queues[qp] = queue;
        for (let i = 0; i < this.#initialVectors; i++) entries.push(this.#attach(qp, queue).storeIndex);
      }
      this.transport._publishAll(entries);
    } catch (e) {
      this.#teardownQueues();
      throw e;
    }
  }

  #check(qp: number): Queue {
    if (this.#destroyed) throw new ImsimError("ENODEV", `client ${this.name} has been destroyed`);
    checkInt(qp, 0, this.queuePairs - 1, `queue pair of client ${this.name}`);
    return this.#queues[qp]!;
  }

  /**
   * Action name of an interrupt in /proc/interrupts: every queue pair's interrupt is requested as
   * KBUILD_MODNAME, "ntb_transport" (ntb_transport_setup_qp_msi, drivers/ntb/ntb_transport.c).
   */
  actionName(qp: number, vector: number): string {
    void qp;
    void vector;
    return NTB_TRANSPORT_ACTION;
  }

  /** The strategy queue behind queue pair `qp`. */
  queue(qp: number): Queue {
    return this.#check(qp);
  }

  /** This host's interrupts of queue pair `qp` (index = vector). */
  irqs(qp: number): QueueIrq[] {
    return this.transport.strategy.irqs(this.#check(qp));
  }

  /** Virq of this host's interrupt `vector` of queue pair `qp`; ENOENT when it has none. */
  virq(qp: number, vector: number): number {
    for (const irq of this.irqs(qp)) if (irq.index === vector) return irq.virq;
    throw new ImsimError("ENOENT", `queue pair ${qp} of client ${this.name} has no vector ${vector}`);
  }

  /**
   * Adds one interrupt to queue pair `qp` on demand (the lowest free vector), requests its handler
   * and publishes its descriptor; the pair's live interrupts are untouched. ENOSPC when the pair has
   * all vectorsPerQp vectors.
   */
  grow(qp: number): QueueIrq {
    const queue = this.#check(qp);
    // All or nothing, work counters included: a descriptor the window cannot carry frees the interrupt.
    return this.transport.ntb.system.atomically(() => {
      const irq = this.#attach(qp, queue);
      try {
        this.transport._publishAll([irq.storeIndex]);
      } catch (e) {
        this.#release(qp, queue, irq);
        throw e;
      }
      return irq;
    });
  }

  /**
   * Allocates the lowest free vector of queue pair `qp` and requests it, as
   * ntbm_msi_request_threaded_irq() does (drivers/ntb/msi.c): request_irq first, and only then is
   * the message read for the descriptor (ntb_msi_set_desc). An IMS entry is written when its
   * interrupt is activated (request_irq), not when it is allocated, so this order is required.
   * Not yet published. Returns the interrupt as it is after the request (its message written).
   */
  #attach(qp: number, queue: Queue): QueueIrq {
    const strategy = this.transport.strategy;
    const irq = strategy.allocIrq(queue);
    try {
      this.transport.ntb.system.requestIrq(irq.virq, this.actionName(qp, irq.index), this.#bind(qp, irq.index));
    } catch (e) {
      strategy.freeIrq(queue, irq.index);
      throw e;
    }
    return strategy.irqs(queue).find((i) => i.index === irq.index)!;
  }

  #bind(qp: number, vector: number): IrqHandler {
    const h = this.#handler;
    // ntb_transport always requests its queue pairs' interrupts (ntb_transport_isr); a client
    // without a handler gets an action that only counts.
    if (h === undefined) return noop;
    return (virq) => h(qp, vector, virq);
  }

  /** Withdraws and frees interrupt `vector` of queue pair `qp` (the peer's copy becomes invalid first). */
  release(qp: number, vector: number): void {
    const queue = this.#check(qp);
    const irq = this.transport.strategy.irqs(queue).find((i) => i.index === vector);
    if (!irq) throw new ImsimError("ENOENT", `queue pair ${qp} of client ${this.name} has no vector ${String(vector)}`);
    if (inHandler(this.transport.ntb.system, irq.virq)) throw new ImsimError("EBUSY", `vector ${vector} of queue pair ${qp} of client ${this.name} cannot be released from its own handler`);
    this.#release(qp, queue, irq);
  }

  /** @internal Whether the handler of one of the client's interrupts is running now. */
  _inHandler(): boolean {
    if (this.#destroyed) return false;
    const system = this.transport.ntb.system;
    for (const queue of this.#queues) {
      if (queue) for (const irq of this.transport.strategy.irqs(queue)) if (inHandler(system, irq.virq)) return true;
    }
    return false;
  }

  #release(qp: number, queue: Queue, irq: QueueIrq): void {
    this.transport.unpublish(irq.storeIndex);
    const system = this.transport.ntb.system;
    const action = this.actionName(qp, irq.index);
    if (system.irqDesc(irq.virq)?.actions.some((a) => a.name === action)) system.freeIrq(irq.virq, action);
    this.transport.strategy.freeIrq(queue, irq.index);
  }

  /** Slot of the peer's queue pair `qp` vector `vector` (its MSI-X entry): same layout on both hosts. */
  peerSlot(qp: number, vector: number): number {
    checkInt(qp, 0, this.queuePairs - 1, `queue pair of client ${this.name}`);
    checkInt(vector, 0, this.transport.vectorsPerQp - 1, `vector of client ${this.name}`);
    return (this.firstQp + qp) * this.transport.vectorsPerQp + vector;
  }

  /** The peer's descriptor for queue pair `qp` vector `vector`, as last published to this host. */
  peerDescriptor(qp: number, vector: number): NtbMsiDesc | undefined {
    return this.transport.peerDescriptor(this.peerSlot(qp, vector));
  }

  /**
   * Triggers the PEER's interrupt `vector` of queue pair `qp`. ENOLINK while the link is down, ENOENT
   * when not published, EINVAL for a queue pair or vector outside this client (which would otherwise
   * name another queue pair's or client's slot). Hot path: plain comparisons, no allocation unless it throws.
   */
  trigger(qp: number, vector: number): NtbWriteResult {
    if (this.#destroyed) throw new ImsimError("ENODEV", `client ${this.name} has been destroyed`);
    const v = this.transport.vectorsPerQp;
    if (!Number.isInteger(qp) || !Number.isInteger(vector) || qp < 0 || qp >= this.queuePairs || vector < 0 || vector >= v) this.peerSlot(qp, vector); // throws EINVAL
    return this.transport.triggerSlot((this.firstQp + qp) * v + vector);
  }

  /** Like trigger, but kept while the link is down and issued once after it returns. */
  post(qp: number, vector: number): NtbWriteResult {
    if (this.#destroyed) throw new ImsimError("ENODEV", `client ${this.name} has been destroyed`);
    return this.transport.postSlot(this.peerSlot(qp, vector));
  }

  #teardownQueues(): void {
    const strategy = this.transport.strategy;
    for (let qp = 0; qp < this.queuePairs; qp++) {
      const queue = this.#queues[qp];
      if (!queue) continue;
      for (const irq of strategy.irqs(queue)) this.#release(qp, queue, irq);
      strategy.destroyQueue(queue);
      this.#queues[qp] = undefined;
    }
  }

  /** Frees every interrupt (descriptors withdrawn first) and destroys the queue pairs. */
  destroy(): void {
    if (this.#destroyed) return;
    if (this._inHandler()) throw new ImsimError("EBUSY", `client ${this.name} cannot be destroyed from the handler of one of its interrupts`);
    this.#teardownQueues();
    this.#destroyed = true;
    this.transport._clientGone(this);
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** @internal The device went away with everything under it. */
  _forget(): void {
    this.#destroyed = true;
    this.#queues.fill(undefined);
  }
}
