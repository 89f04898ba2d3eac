import { describe, expect, it } from "vitest";
import {
  Entry16Store,
  ImsimError,
  MSI_SECONDARY_DOMAIN,
  SysfsView,
  createQueueStrategy,
  createSystem,
  type ImsStrategy,
  type IrqSystem,
  type MsiDomain,
  type QueueState,
  type StrategyDesign,
} from "../src/index.js";
import { expectCode } from "./support/helpers.js";

// The contract the core README ("Writing your own design") states for StrategyDesign, checked by a
// design that records every call core makes, with what it could observe at that moment.

interface RecorderOptions {
  /** Whether claimIndex refuses an index that is already owned (as it must); false shows why. */
  refuseHeld?: boolean;
  /** attachQueue throws for a queue of this name. */
  failAttach?: string;
  /** Leave queueSysfsDir out: a design without a per-queue sysfs directory (mainline). */
  noQueueSysfs?: boolean;
}

/** A minimal flat design (the host's secondary domain, an owner per store entry) that logs its calls. */
function recordingDesign(system: IrqSystem, host: ReturnType<IrqSystem["addPciDevice"]>, store: Entry16Store, opts: RecorderOptions = {}) {
  const log: string[] = [];
  const owner: (QueueState | undefined)[] = new Array<QueueState | undefined>(store.size);
  const held = new Map<QueueState, Set<number>>();
  const ref: { strategy?: ImsStrategy } = {};
  const domain: MsiDomain = system.createMsiDomain(host, {
    domainId: MSI_SECONDARY_DOMAIN,
    store,
    kind: "ims",
    pasidOf: (desc) => {
      const q = owner[desc.msiIndex];
      log.push(`write ${desc.msiIndex} owner=${q?.name ?? "none"} pasid=${q?.pasid ?? -1}`);
      return q?.pasid ?? -1;
    },
  });
  const has = (q: QueueState, index: number) => domain.desc(q.base + index) !== undefined;
  const listed = (q: QueueState) => (ref.strategy?.queues() ?? []).some((h) => h.id === q.id);
  const design: StrategyDesign = {
    name: "recorder",
    attachQueue(q) {
      log.push(`attach ${q.name} base=${q.base} count=${q.count} pasid=${q.pasid ?? "none"} listed=${listed(q)}`);
      if (q.name === opts.failAttach) throw new Error(`attach of ${q.name} refused`);
      held.set(q, new Set());
    },
    detachQueue(q) {
      // This design's cookieOf gives the descriptors the queue id plus 1000.
      const live = [...domain.descs()].filter((d) => d.cookie === 1000 + q.id);
      log.push(`detach ${q.name} held=${held.get(q)?.size} live=${live.length}`);
      held.delete(q);
    },
    domainOf: () => domain,
    msiIndexOf: (q, index) => q.base + index,
    queueOfVirq(virq) {
      log.push(`queueOfVirq ${virq}`);
      const desc = system.irqDesc(virq)?.msiDesc;
      return desc?.device === host && desc.domainId === MSI_SECONDARY_DOMAIN ? owner[desc.msiIndex] : undefined;
    },
    owns(q, index) {
      log.push(`owns ${q.name} ${index}`);
      return owner[q.base + index] === q;
    },
    indicesOf: (q) => [...(held.get(q) ?? [])].sort((a, b) => a - b),
    claimIndex(q, index) {
      log.push(`claim ${q.name} ${index} desc=${has(q, index)}`);
      const other = owner[q.base + index];
      if (other !== undefined && opts.refuseHeld !== false) throw new ImsimError("EBUSY", `entry ${q.base + index} is ${other.name}'s`);
      owner[q.base + index] = q;
      held.get(q)!.add(index);
    },
    releaseIndex(q, index) {
      log.push(`release ${q.name} ${index} desc=${has(q, index)} domainRemoved=${domain.removed}`);
      if (owner[q.base + index] === q) owner[q.base + index] = undefined;
      held.get(q)!.delete(index);
    },
    cookieOf(q, index) {
      log.push(`cookieOf ${q.name} ${index} desc=${has(q, index)}`);
      return 1000 + q.id;
    },
    recordPasid(q, pasid) {
      log.push(`recordPasid ${q.name} ${pasid ?? "none"} state=${q.pasid ?? "none"}`);
    },
    requesterId: (q) => {
      log.push(`requesterId ${q.name}`);
      return host.requesterId;
    },
    queueSysfsDir: (q) => {
      log.push(`queueSysfsDir ${q.name}`);
      return `${host.sysfsPath}/recorder/${q.name}`;
    },
    sysfs: (emit) => {
      log.push("sysfs");
      for (const [q, set] of held) for (const i of set) emit(`${host.sysfsPath}/recorder/${q.name}/${domain.getVirq(q.base + i)}`, "msi\n");
    },
    records: () => [{ what: "index sets", per: "queue", count: held.size }],
    dispose() {
      log.push(`dispose domainRemoved=${domain.removed}`);
      system.removeMsiDomain(host, MSI_SECONDARY_DOMAIN);
    },
  };
  if (opts.noQueueSysfs) delete design.queueSysfsDir;
  return { design, log, domain, ref };
}

function setup(opts: RecorderOptions = {}) {
  const system = createSystem({ cpus: 2, interruptRemapping: true });
  const host = system.addPciDevice({ bdf: "0000:6a:01.0" });
  const store = new Entry16Store({ chipName: "PCI-IDXD", size: 16, requesterId: host.requesterId, pasid: true });
  const rec = recordingDesign(system, host, store, opts);
  const strategy = createQueueStrategy(system, host, store, rec.design);
  rec.ref.strategy = strategy;
  /** The calls logged since the last `take()`, optionally only those starting with one of `kinds`. */
  const take = (...kinds: string[]): string[] => {
    const out = rec.log.splice(0).filter((l) => kinds.length === 0 || kinds.some((k) => l === k || l.startsWith(`${k} `)));
    return out;
  };
  return { system, host, store, strategy, take, ...rec };
}

describe("createQueueStrategy calls the design as the core README says", () => {
  it("createQueue attaches the validated queue before it is listed, then claims each index before its message is written", () => {
    const { strategy, system, take } = setup();
    const q = strategy.createQueue({ name: "a", pasid: 5, nvec: 2, slice: { base: 4, count: 4 } });
    // An IMS entry is written when its interrupt is requested (activated), so after every claim.
    expect(take("attach", "claim", "write")).toEqual(["attach a base=4 count=4 pasid=5 listed=false", "claim a 0 desc=false", "claim a 1 desc=false"]);
    for (const irq of strategy.irqs(q)) system.requestIrq(irq.virq, "h", () => {});
    expect(take("write")).toEqual(["write 4 owner=a pasid=5", "write 5 owner=a pasid=5"]);
  });

  it("claimIndex is also called for an index the queue already holds, and a claim that does not refuse it is undone by releaseIndex", () => {
    const refusing = setup();
    const q = refusing.strategy.createQueue({ name: "a", nvec: 1 });
    refusing.take();
    expectCode(() => refusing.strategy.allocIrq(q, 0), "EBUSY");
    expect(refusing.take("claim", "release")).toEqual(["claim a 0 desc=true"]);
    expect(refusing.strategy.irqs(q).map((i) => i.index)).toEqual([0]);

    // A design whose claimIndex accepts it: core's allocation fails (EBUSY), releaseIndex follows,
    // and the design has forgotten an interrupt that is still allocated.
    const careless = setup({ refuseHeld: false });
    const c = careless.strategy.createQueue({ name: "a", nvec: 1 });
    careless.take();
    expectCode(() => careless.strategy.allocIrq(c, 0), "EBUSY");
    expect(careless.take("claim", "release")).toEqual(["claim a 0 desc=true", "release a 0 desc=true domainRemoved=false"]);
    expect(careless.strategy.irqs(c)).toEqual([]);
    expect(careless.domain.allocated).toBe(1);
  });

  it("a failed allocation releases the index that failed, then frees and releases the earlier ones in reverse order", () => {
    const { system, strategy, take } = setup();
    const q = strategy.createQueue({ name: "a" });
    const before = system.snapshot();
    take();
    system.injectFault("vector-alloc", 2);
    expectCode(() => strategy.allocIrqs(q, 3), "EIO");
    expect(take("claim", "release")).toEqual([
      "claim a 0 desc=false",
      "claim a 1 desc=false",
      "claim a 2 desc=false",
      "release a 2 desc=false domainRemoved=false",
      "release a 1 desc=false domainRemoved=false",
      "release a 0 desc=false domainRemoved=false",
    ]);
    expect(system.snapshot()).toEqual(before);
    expect(strategy.irqs(q)).toEqual([]);
  });

  it("freeIrq asks owns() first and calls releaseIndex after the domain freed the descriptor", () => {
    const { strategy, take } = setup();
    const q = strategy.createQueue({ name: "a", nvec: 1 });
    take();
    expectCode(() => strategy.freeIrq(q, 3), "ENOENT");
    expect(take("owns", "release")).toEqual(["owns a 3"]);
    strategy.freeIrq(q, 0);
    expect(take("owns", "release")).toEqual(["owns a 0", "release a 0 desc=false domainRemoved=false"]);
  });

  it("a range free refused because one interrupt's own handler runs frees nothing and releases nothing", () => {
    const { system, strategy, take } = setup();
    const q = strategy.createQueue({ name: "a", nvec: 2 });
    const caught: unknown[] = [];
    const second = strategy.irqs(q)[1]!;
    system.requestIrq(second.virq, "frees-its-queue", () => {
      for (const op of [() => strategy.freeAllIrqs(q), () => strategy.freeIrqRange(q, 0, 1), () => strategy.destroyQueue(q)]) {
        try {
          op();
        } catch (e) {
          caught.push(e);
        }
      }
    });
    take();
    system.raise(strategy.store, second.storeIndex);
    expect(caught.map((e) => (e as ImsimError).code)).toEqual(["EBUSY", "EBUSY", "EBUSY"]);
    expect(take("release", "detach")).toEqual([]);
    expect(strategy.irqs(q).map((i) => i.index)).toEqual([0, 1]);
  });

  it("destroyQueue frees and releases every index, then detaches the queue with no interrupt left", () => {
    const { strategy, take } = setup();
    const q = strategy.createQueue({ name: "a", nvec: 2 });
    take();
    strategy.destroyQueue(q);
    expect(take("release", "detach")).toEqual(["release a 0 desc=false domainRemoved=false", "release a 1 desc=false domainRemoved=false", "detach a held=0 live=0"]);
  });

  it("createQueue whose interrupts cannot all be allocated releases what it claimed, detaches the queue and lists nothing", () => {
    const { system, strategy, take } = setup();
    const before = system.snapshot();
    system.injectFault("vector-alloc", 1);
    expectCode(() => strategy.createQueue({ name: "a", nvec: 3 }), "EIO");
    expect(take("claim", "release", "detach")).toEqual([
      "claim a 0 desc=false",
      "claim a 1 desc=false",
      "release a 1 desc=false domainRemoved=false",
      "release a 0 desc=false domainRemoved=false",
      "detach a held=0 live=0",
    ]);
    expect(strategy.queues()).toEqual([]);
    expect(system.snapshot()).toEqual(before);
    expect(strategy.createQueue({ name: "a", nvec: 3 }).name).toBe("a");
  });

  it("an attachQueue that throws leaves no queue behind, and is not followed by detachQueue", () => {
    const { strategy, take } = setup({ failAttach: "bad" });
    expect(() => strategy.createQueue({ name: "bad", nvec: 2 })).toThrow("attach of bad refused");
    expect(take("attach", "claim", "detach")).toEqual(["attach bad base=0 count=16 pasid=none listed=false"]);
    expect(strategy.queues()).toEqual([]);
    expect(strategy.createQueue({ name: "good" }).name).toBe("good");
  });

  it("setPasid updates QueueState.pasid before recordPasid and the rewrites; a failed rewrite records the old PASID again", () => {
    const { system, store, strategy, take } = setup();
    const q = strategy.createQueue({ name: "a", pasid: 7, nvec: 2 });
    for (const irq of strategy.irqs(q)) system.requestIrq(irq.virq, "h", () => {});
    take();
    expect(strategy.setPasid(q, 9)).toBe(2);
    expect(take("recordPasid", "write")).toEqual(["recordPasid a 9 state=9", "write 0 owner=a pasid=9", "write 1 owner=a pasid=9"]);

    system.injectFault("store-write", 1);
    expectCode(() => strategy.setPasid(q, 3), "EIO");
    expect(take("recordPasid")).toEqual(["recordPasid a 3 state=3", "recordPasid a 9 state=9"]);
    expect(strategy.pasidOf(q)).toBe(9);
    expect(strategy.irqs(q).map((i) => store.pasid(i.storeIndex))).toEqual([9, 9]);
  });

  it("dispose destroys every queue, then calls the design's dispose once", () => {
    const { strategy, take } = setup();
    strategy.createQueue({ name: "a", nvec: 1 });
    strategy.createQueue({ name: "b", nvec: 1 });
    take();
    strategy.dispose();
    expect(take("release", "detach", "dispose")).toEqual([
      "release a 0 desc=false domainRemoved=false",
      "detach a held=0 live=0",
      "release b 1 desc=false domainRemoved=false",
      "detach b held=0 live=0",
      "dispose domainRemoved=false",
    ]);
    strategy.dispose();
    expect(take()).toEqual([]);
    // queueOfVirq and records still reach the design after dispose.
    expect(strategy.queueOfVirq(16)).toBeUndefined();
    expect(take()).toEqual(["queueOfVirq 16"]);
    expect(strategy.records()).toEqual({ strategy: "recorder", queues: 0, interrupts: 0, objects: 0, records: [{ what: "index sets", per: "queue", count: 0 }] });
  });

  it("removing the host destroys every queue before the host's domains go, and never calls the design's dispose", () => {
    const { system, host, strategy, take } = setup();
    const q = strategy.createQueue({ name: "a", nvec: 1 });
    take();
    system.removeDevice(host);
    expect(take("release", "detach", "dispose")).toEqual(["release a 0 desc=false domainRemoved=false", "detach a held=0 live=0"]);
    strategy.dispose();
    expect(take()).toEqual([]);
    expectCode(() => strategy.irqs(q), "ENODEV");
    expectCode(() => strategy.createQueue({ name: "b" }), "ENODEV");
    expect(take()).toEqual([]);
  });

  it("validates handles and virqs before the design sees them", () => {
    const { system, strategy, take } = setup();
    const q = strategy.createQueue({ name: "a", nvec: 1 });
    const virq = strategy.irqs(q)[0]!.virq;
    strategy.destroyQueue(q);
    take();
    expectCode(() => strategy.requesterId(q), "ENOENT");
    expectCode(() => strategy.queueSysfsDir(q), "ENOENT");
    expectCode(() => strategy.allocIrq(q), "ENOENT");
    expectCode(() => strategy.queueOfVirq(0), "EINVAL");
    expectCode(() => strategy.queueOfVirq(system.irqs.limit), "EINVAL");
    expect(take()).toEqual([]);
    expect(strategy.queueOfVirq(virq)).toBeUndefined();
    expect(take()).toEqual([`queueOfVirq ${virq}`]);
  });

  it("registers the design's sysfs provider for the strategy's lifetime", () => {
    const { system, strategy, take } = setup();
    const q = strategy.createQueue({ name: "a", nvec: 1 });
    take();
    expect([...new SysfsView(system).files().keys()]).toContain(`${strategy.queueSysfsDir(q)}/${strategy.irqs(q)[0]!.virq}`);
    expect(take("sysfs")).toEqual(["sysfs"]);
    strategy.dispose();
    new SysfsView(system).files();
    expect(take("sysfs")).toEqual([]);
  });

  it("asks the design for each interrupt's cookie after the claim, and the descriptor carries it", () => {
    const { strategy, domain, take } = setup();
    const q = strategy.createQueue({ name: "a", nvec: 2, slice: { base: 2, count: 4 } });
    expect(take("claim", "cookieOf")).toEqual(["claim a 0 desc=false", "cookieOf a 0 desc=false", "claim a 1 desc=false", "cookieOf a 1 desc=false"]);
    expect([domain.desc(2)!.cookie, domain.desc(3)!.cookie]).toEqual([1000 + q.id, 1000 + q.id]);
  });

  it("a design without queueSysfsDir reports supports.queueSysfs false and makes queueSysfsDir EOPNOTSUPP, after the handle check", () => {
    const full = setup();
    expect(full.strategy.supports).toEqual({ queueSysfs: true });
    const { strategy, take } = setup({ noQueueSysfs: true });
    expect(strategy.supports).toEqual({ queueSysfs: false });
    const q = strategy.createQueue({ name: "a", nvec: 1 });
    take();
    expectCode(() => strategy.queueSysfsDir(q), "EOPNOTSUPP");
    expectCode(() => strategy.queueSysfsDir({ id: 99, name: "x", strategy: "recorder" }), "EINVAL");
    expect(take()).toEqual([]);
  });
});
