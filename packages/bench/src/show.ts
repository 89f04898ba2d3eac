import { SysfsView, domainsView, procInterrupts, type IrqSystem } from "@imsim/core";
import { DEFAULT_SHOW_CPUS, type ViewName } from "./args.js";
import { STRATEGIES, type HardwareName, type StrategyName } from "./matrix.js";
import { defaultScenario } from "./scenario.js";

/** `path:line` for every line of every file, as `grep -r . DIR` prints sysfs. */
function grepLines(system: IrqSystem, keep: (path: string) => boolean): string {
  const files = [...new SysfsView(system).files()].filter(([p]) => keep(p));
  files.sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true }));
  let out = "";
  for (const [p, c] of files) for (const line of c.replace(/\n$/, "").split("\n")) out += `${p}:${line}\n`;
  return out;
}

/** One view of one system in the kernel's format. */
export function renderView(system: IrqSystem, view: ViewName): string {
  switch (view) {
    case "proc-interrupts":
      return procInterrupts(system);
    case "sysfs":
      return grepLines(system, (p) => p.startsWith("/sys/devices/"));
    case "irq":
      return grepLines(system, (p) => p.startsWith("/sys/kernel/irq/") || p.startsWith("/proc/irq/"));
    case "domains":
      return domainsView(system);
  }
}

/** What `imsim show` prints: the view of every host of the default scenario (NTB has two). */
export function show(hardware: HardwareName, strategy: StrategyName, view: ViewName, cpus = DEFAULT_SHOW_CPUS): string {
  const scenario = defaultScenario(hardware, STRATEGIES[strategy], cpus);
  try {
    const many = scenario.hosts.length > 1;
    return scenario.hosts.map((h) => (many ? `==> ${h.label} (${strategy}) <==\n` : "") + renderView(h.system, view)).join("\n");
  } finally {
    scenario.teardown();
  }
}
