import { SysfsView, isImsimError } from "@imsim/core";
import type { ConformanceOptions, TestFunction } from "./harness.js";
import { CONFORMANCE_ACTION, group, withHarness } from "./harness.js";
import { deepEqual, equal, fail, ok, show, throwsCode } from "./assert.js";

/** Names under `dir`, or [] when the view has no such directory (the kernel removes an empty msi_irqs/). */
function listOrEmpty(view: SysfsView, dir: string): string[] {
  try {
    return view.list(dir);
  } catch (e) {
    if (isImsimError(e, "ENOENT")) return [];
    throw e;
  }
}

/** Content of a msi_irqs/<virq> file: the mode, one word and a newline (kernel msi_mode_show). */
const MSI_IRQS_CONTENT = /^msix?\n$/;

/**
 * Concern 2, sysfs. A strategy with a per-queue directory (`supports.queueSysfs`): each queue's
 * interrupts can be listed from it with the kernel's contents. One without (mainline): no directory
 * lists a queue's interrupts, and each is still shown where the kernel shows every interrupt.
 */
export function sysfsTests(test: TestFunction, options: ConformanceOptions): void {
  group(test, options, ({ ctx, add }) => {
    const n = Math.min(3, ctx.sliceSize);

    add(`sysfs: the strategy's manifest (queueSysfs ${ctx.strategySupports.queueSysfs}) matches queueSysfsDir: a /sys path, or EOPNOTSUPP without one`, () => {
      withHarness(ctx, (h) => {
        equal(typeof h.strategy.supports.queueSysfs, "boolean", "strategy.supports.queueSysfs is a boolean");
        const q = h.queue(0, { nvec: n });
        if (h.strategy.supports.queueSysfs) {
          const dir = h.strategy.queueSysfsDir(q);
          ok(typeof dir === "string" && dir.startsWith("/sys/"), `queueSysfsDir(${q.name}) is a /sys path, got ${show(dir)}`);
        } else {
          throwsCode(() => h.strategy.queueSysfsDir(q), "EOPNOTSUPP", `queueSysfsDir(${q.name}) of a strategy without per-queue sysfs`);
        }
      });
    });

    if (!ctx.strategySupports.queueSysfs) {
      add("sysfs: without a per-queue directory, no sysfs directory lists a queue's virqs (the queue is not listable): only /sys/kernel/irq/N and /proc/irq/N name them", () => {
        withHarness(ctx, (h) => {
          const a = h.queue(0, { nvec: n });
          const b = h.queue(1, { nvec: n });
          const view = new SysfsView(h.system);
          // Only the kernel's files of every interrupt name them: /sys/kernel/irq/N and /proc/irq/N.
          const virqs = new Set([...h.strategy.irqs(a), ...h.strategy.irqs(b)].map((i) => String(i.virq)));
          for (const path of view.files().keys()) {
            if (path.startsWith("/sys/kernel/irq/") || path.startsWith("/proc/irq/")) continue;
            const named = path.split("/").find((part) => virqs.has(part));
            ok(named === undefined, `${path} names virq ${named} of a queue, yet supports.queueSysfs is false`);
          }
        });
      });

      add("sysfs: without a per-queue directory, each interrupt of a queue is still in /sys/kernel/irq/<virq> with its hwirq, chip and action", () => {
        withHarness(ctx, (h) => {
          const q = h.queue(0, { nvec: n });
          const view = new SysfsView(h.system);
          for (const irq of h.strategy.irqs(q)) {
            const desc = h.system.irqDesc(irq.virq)!;
            equal(view.read(`/sys/kernel/irq/${irq.virq}/hwirq`), `${desc.hwirq}\n`, `/sys/kernel/irq/${irq.virq}/hwirq`);
            equal(view.read(`/sys/kernel/irq/${irq.virq}/chip_name`), `${desc.chipName}\n`, `/sys/kernel/irq/${irq.virq}/chip_name`);
            ok(view.read(`/sys/kernel/irq/${irq.virq}/actions`).includes(CONFORMANCE_ACTION), `/sys/kernel/irq/${irq.virq}/actions names the suite's action`);
          }
        });
      });
      return;
    }

    add("sysfs: a queue's directory lists exactly its virqs, in numeric order", () => {
      withHarness(ctx, (h) => {
        const a = h.queue(0, { nvec: n });
        const b = h.queue(1, { nvec: n });
        const view = new SysfsView(h.system);
        for (const q of [a, b]) {
          const dir = h.strategy.queueSysfsDir(q);
          ok(typeof dir === "string" && dir.startsWith("/sys/"), `queueSysfsDir(${q.name}) is a /sys path, got ${show(dir)}`);
          const expected = h.strategy
            .irqs(q)
            .map((i) => i.virq)
            .sort((x, y) => x - y)
            .map(String);
          deepEqual(view.list(dir), expected, `entries of ${dir}`);
        }
        ok(h.strategy.queueSysfsDir(a) !== h.strategy.queueSysfsDir(b), `two queues have distinct sysfs directories`);
      });
    });

    add("sysfs: each listed file reads as the kernel's msi_irqs/<virq> (\"msi\" or \"msix\" and a newline)", () => {
      withHarness(ctx, (h) => {
        const q = h.queue(0, { nvec: n });
        const view = new SysfsView(h.system);
        const dir = h.strategy.queueSysfsDir(q);
        for (const name of view.list(dir)) {
          const content = view.read(`${dir}/${name}`);
          if (!MSI_IRQS_CONTENT.test(content)) fail(`content of ${dir}/${name}: expected "msi\\n" or "msix\\n", got ${show(content)}`);
          const desc = h.system.irqDesc(Number(name));
          ok(desc !== undefined, `${dir}/${name} names an allocated virq`);
          const msi = desc.msiDesc!;
          const own = `${msi.device.sysfsPath}/msi_irqs/${name}`;
          // The owning device lists it too only where its domain's template asks for msi_irqs/ (MSI_FLAG_DEV_SYSFS).
          const domain = h.system.msiDomain(msi.device, msi.domainId);
          if (own !== `${dir}/${name}` && domain?.devSysfs) equal(content, view.read(own), `content of ${dir}/${name} versus the owning device's ${own}`);
          equal(view.read(`/sys/kernel/irq/${name}/hwirq`), `${h.system.irqDesc(Number(name))!.hwirq}\n`, `/sys/kernel/irq/${name}/hwirq`);
        }
      });
    });

    add("sysfs: a freed interrupt leaves the listing, and a queue without interrupts lists none", () => {
      withHarness(ctx, (h) => {
        const q = h.queue(0, { nvec: n });
        const dir = h.strategy.queueSysfsDir(q);
        const gone = h.irq(q, 0).virq;
        h.free(q, 0);
        const after = listOrEmpty(new SysfsView(h.system), dir);
        ok(!after.includes(String(gone)), `${dir} no longer lists freed virq ${gone} (lists ${show(after)})`);
        equal(after.length, n - 1, `entries of ${dir} after freeing one of ${n}`);
        h.release(q);
        h.strategy.freeAllIrqs(q);
        deepEqual(listOrEmpty(new SysfsView(h.system), dir), [], `entries of ${dir} after freeing all`);
      });
    });

    add("sysfs: an interrupt added later appears in the queue's directory", () => {
      withHarness(ctx, (h) => {
        const q = h.queue(0, { nvec: Math.min(1, ctx.sliceSize - 1) });
        const added = h.strategy.allocIrq(q);
        const listed = new SysfsView(h.system).list(h.strategy.queueSysfsDir(q));
        ok(listed.includes(String(added.virq)), `${h.strategy.queueSysfsDir(q)} lists the added virq ${added.virq} (lists ${show(listed)})`);
      });
    });
  });
}
