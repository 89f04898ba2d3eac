import {
  SysfsView,
  compareNames,
  debugfsDomainFiles,
  debugfsIrqFiles,
  formatGrep,
  formatHead,
  procInterrupts,
  type HeadEntry,
  type IrqSystem,
} from "@imsim/core";
import { DEFAULT_SHOW_CPUS, type ViewName } from "./args.js";
import { STRATEGIES, type HardwareName, type StrategyName } from "./matrix.js";
import { defaultScenario } from "./scenario.js";

/** Paths in directory order as the views list them: component by component, numbers numerically. */
export function comparePaths(a: string, b: string): number {
  const pa = a.split("/");
  const pb = b.split("/");
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const c = compareNames(pa[i]!, pb[i]!);
    if (c !== 0) return c;
  }
  return pa.length - pb.length;
}

/** The views made of several files, printed as head(1) prints them; the others are one text each. */
type MultiFileView = "sysfs" | "domains" | "debug-irqs";
const isMultiFile = (view: ViewName): view is MultiFileView => view === "sysfs" || view === "domains" || view === "debug-irqs";

function sorted<T>(entries: Iterable<readonly [string, T]>, keep: (path: string) => boolean): (readonly [string, T])[] {
  return [...entries].filter(([p]) => keep(p)).sort(([a], [b]) => comparePaths(a, b));
}

/**
 * The files of one view of one system, each as a head(1) entry. Symlinks (a device's `driver`)
 * are shown as `PATH -> TARGET` in their header, with no content.
 */
function viewEntries(system: IrqSystem, view: MultiFileView): HeadEntry[] {
  switch (view) {
    case "sysfs": {
      const sysfs = new SysfsView(system);
      const underDevices = (p: string) => p.startsWith("/sys/devices/");
      const files = sorted(sysfs.files(), underDevices).map(([p, content]) => ({ p, entry: [p, content] as HeadEntry }));
      const links = sorted(sysfs.links(), underDevices).map(([p, target]) => ({ p, entry: [`${p} -> ${target}`, ""] as HeadEntry }));
      return [...files, ...links].sort((a, b) => comparePaths(a.p, b.p)).map((e) => e.entry);
    }
    case "domains":
      return [...debugfsDomainFiles(system)];
    case "debug-irqs":
      return [...debugfsIrqFiles(system)];
  }
}


/** One view of one system in the kernel's format. */
export function renderView(system: IrqSystem, view: ViewName): string {
  switch (view) {
    case "proc-interrupts":
      return procInterrupts(system);
    case "irq":
      return formatGrep(sorted(new SysfsView(system).files(), (p) => p.startsWith("/sys/kernel/irq/") || p.startsWith("/proc/irq/")));
    case "sysfs":
    case "domains":
    case "debug-irqs":
      return formatHead(viewEntries(system, view));
  }
}

/**
 * What `imsim show` prints: the view of every host of the default scenario. With several hosts
 * (NTB), a header `==> <host> <==` starts each host's part, in the same head(1) shape: a
 * multi-file view's file headers follow it as further entries, a one-text view is its content.
 */
export function show(hardware: HardwareName, strategy: StrategyName, view: ViewName, cpus = DEFAULT_SHOW_CPUS): string {
  const scenario = defaultScenario(hardware, STRATEGIES[strategy], cpus);
  try {
    if (scenario.hosts.length === 1) return renderView(scenario.hosts[0]!.system, view);
    const entries: HeadEntry[] = [];
    for (const h of scenario.hosts) {
      if (isMultiFile(view)) entries.push([h.label, undefined], ...viewEntries(h.system, view));
      else entries.push([h.label, renderView(h.system, view)]);
    }
    return formatHead(entries);
  } finally {
    scenario.teardown();
  }
}

/**
 * Where the golden copy of a view of a cell lives, relative to the package: the tests compare
 * `show(hardware, strategy, view)` with it byte for byte (scripts/update-goldens.mjs writes them).
 */
export function goldenPath(hardware: HardwareName, strategy: StrategyName, view: ViewName): string {
  return `test/golden/${hardware}/${strategy}/${view}.txt`;
}
