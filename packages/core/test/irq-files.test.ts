import { describe, expect, it } from "vitest";
import { SysfsView, createSystem } from "../src/index.js";
import { addMsixDevice, expectCode } from "./support/helpers.js";
import { kernelExample } from "./support/kernel-example.js";

describe("/sys/kernel/irq/<N>", () => {
  it("has the seven attributes of every allocated descriptor (their contents for an MSI-X vector: kernel-captures.test.ts)", () => {
    const view = new SysfsView(kernelExample(true));
    expect(view.list("/sys/kernel/irq/28")).toEqual(["actions", "chip_name", "hwirq", "name", "per_cpu_count", "type", "wakeup"]);
    // Actions joined by "," (not ", " as /proc/interrupts).
    expect(view.read("/sys/kernel/irq/25/actions")).toBe("PCIe PME,aerdrv\n");
    // The level-triggered ACPI line: fasteoi flow, level type.
    expect(view.read("/sys/kernel/irq/9/name")).toBe("fasteoi\n");
    expect(view.read("/sys/kernel/irq/9/type")).toBe("level\n");
    expect(view.read("/sys/kernel/irq/9/hwirq")).toBe("9\n");
    // An allocated, unrequested vector: its files exist; `actions` is empty, without a newline.
    expect(view.read("/sys/kernel/irq/27/actions")).toBe("");
    expect(view.read("/sys/kernel/irq/3/actions")).toBe("");
  });

  it("counts per possible CPU, offline ones included", () => {
    const sys = createSystem({ cpus: 40 });
    const { store, domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const { virq } = domain.allocAt(0, { affinity: [39] });
    sys.requestIrq(virq, "q", () => {});
    sys.raise(store, 0);
    sys.setCpuOnline(5, false);
    const counts = new SysfsView(sys).read(`/sys/kernel/irq/${virq}/per_cpu_count`);
    expect(counts).toBe(`${Array.from({ length: 40 }, (_, c) => (c === 39 ? 1 : 0)).join(",")}\n`);
  });
});

describe("/proc/irq", () => {
  it("has every file of /proc/irq/<N> once the interrupt was requested, and keeps them after free_irq", () => {
    const sys = createSystem({ cpus: 2, interruptRemapping: true });
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const { virq } = domain.allocAt(1);
    const view = new SysfsView(sys);
    const p = `/proc/irq/${virq}`;
    // register_irq_proc runs from __setup_irq: an allocated, unrequested vector has no directory.
    expectCode(() => view.list(p), "ENOENT");
    sys.requestIrq(virq, "q", () => {});
    expect(view.list(p)).toEqual(["affinity_hint", "effective_affinity", "effective_affinity_list", "node", "smp_affinity", "smp_affinity_list", "spurious"]);
    const cpu = sys.irqDesc(virq)!.effectiveCpu;
    expect(view.read(`${p}/smp_affinity`)).toBe("3\n");
    expect(view.read(`${p}/smp_affinity_list`)).toBe("0-1\n");
    expect(view.read(`${p}/effective_affinity`)).toBe(`${1 << cpu}\n`);
    expect(view.read(`${p}/effective_affinity_list`)).toBe(`${cpu}\n`);
    expect(view.read(`${p}/affinity_hint`)).toBe("0\n");
    expect(view.read(`${p}/node`)).toBe("-1\n");
    expect(view.read(`${p}/spurious`)).toBe("count 0\nunhandled 0\nlast_unhandled 0 ms\n");
    sys.setAffinity(virq, [1 - cpu]);
    expect(view.read(`${p}/smp_affinity_list`)).toBe(`${1 - cpu}\n`);
    expect(view.read(`${p}/effective_affinity`)).toBe(`${1 << (1 - cpu)}\n`);
    sys.freeIrq(virq, "q");
    expect(view.read(`${p}/smp_affinity_list`)).toBe(`${1 - cpu}\n`);
    domain.free(1);
    expectCode(() => view.list(p), "ENOENT");
  });

  it("has the boot interrupts' directories, requested or not, and default_smp_affinity", () => {
    const view = new SysfsView(createSystem({ cpus: 4 }));
    const irqs = view.list("/proc/irq");
    expect(irqs).toEqual([...Array.from({ length: 16 }, (_, i) => String(i)), "default_smp_affinity"]);
    expect(view.read("/proc/irq/default_smp_affinity")).toBe("f\n");
    expect(view.read("/proc/irq/0/node")).toBe("0\n");
  });

  it("keeps the PIC cascade line, irq 2, on the 8259's chip: no domain, no name, level, never activated", () => {
    const sys = createSystem({ cpus: 4 });
    const view = new SysfsView(sys);
    const k = "/sys/kernel/irq/2";
    expect([view.read(`${k}/chip_name`), view.read(`${k}/hwirq`), view.read(`${k}/name`), view.read(`${k}/type`), view.read(`${k}/actions`)]).toEqual(["XT-PIC\n", "", "", "level\n", ""]);
    expect(view.read("/proc/irq/2/smp_affinity")).toBe("f\n");
    expect(view.read("/proc/irq/2/effective_affinity")).toBe("0\n");
    expect(view.read("/proc/irq/2/effective_affinity_list")).toBe("\n");
    // The chip cannot move it: user space gets EPERM, as irq_can_set_affinity_usr answers.
    expectCode(() => sys.setAffinity(2, [1]), "EPERM");
  });

  it("prints masks in the kernel's bitmap format at 40 and 256 CPUs: comma groups of 8 hex digits, the first as wide as its bits", () => {
    const s40 = createSystem({ cpus: 40 });
    const a = addMsixDevice(s40, "0000:01:00.0", 8);
    const [q0, q1] = a.domain.allocRange(0, 3, { managed: true });
    s40.requestIrq(q1!.virq, "q1", () => {});
    const v40 = new SysfsView(s40);
    expect(v40.read("/proc/irq/default_smp_affinity")).toBe("ff,ffffffff\n");
    expect(v40.read(`/proc/irq/${q1!.virq}/smp_affinity`)).toBe("00,000ffc00\n");
    expect(v40.read(`/proc/irq/${q1!.virq}/smp_affinity_list`)).toBe("10-19\n");
    expect(v40.read(`/proc/irq/${q1!.virq}/affinity_hint`)).toBe("00,00000000\n");
    expect(v40.read(`/proc/irq/${q1!.virq}/effective_affinity`)).toMatch(/^[0-9a-f]{2},[0-9a-f]{8}\n$/);
    expectCode(() => v40.read(`/proc/irq/${q0!.virq}/smp_affinity`), "ENOENT");
    // Writing a managed interrupt's affinity is refused (EPERM, as 6.12 answers).
    expectCode(() => s40.setAffinity(q1!.virq, [0]), "EPERM");

    const s256 = createSystem({ cpus: 256 });
    const b = addMsixDevice(s256, "0000:01:00.0", 8);
    const { virq } = b.domain.allocAt(0);
    s256.requestIrq(virq, "q", () => {});
    s256.setAffinity(virq, [0, 255]);
    const v256 = new SysfsView(s256);
    expect(v256.read("/proc/irq/default_smp_affinity")).toBe(`${Array(8).fill("ffffffff").join(",")}\n`);
    expect(v256.read(`/proc/irq/${virq}/smp_affinity`)).toBe(`80000000,${Array(6).fill("00000000").join(",")},00000001\n`);
    expect(v256.read(`/proc/irq/${virq}/smp_affinity_list`)).toBe("0,255\n");
  });

  it("refuses user affinity for the timer (IRQF_NOBALANCING) with EPERM", () => {
    expectCode(() => createSystem({ cpus: 2 }).setAffinity(0, [1]), "EPERM");
  });
});
