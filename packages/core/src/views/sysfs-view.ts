// The sysfs and procfs files imsim models, as one tree to read and list: device files under
// /sys/devices (drivers/pci/pci-sysfs.c, kernel/irq/msi.c), /sys/kernel/irq (kernel/irq/irqdesc.c),
// /proc/irq (kernel/irq/proc.c), and what strategies and drivers add (sysfs providers).
import { ImsimError, describe } from "../errors.js";
import type { IrqSystem } from "../irq-system.js";
import { deviceFiles } from "./device-files.js";
import { irqFiles } from "./irq-files.js";

/**
 * The files of the view, built from the system on demand: path → content. Bus paths
 * (/sys/bus/<bus>/devices/<name>/…) resolve to the device's /sys/devices path; symlinks (a
 * device's `driver`) are listed by `links()`.
 */
export class SysfsView {
  readonly #system: IrqSystem;
  constructor(system: IrqSystem) {
    this.#system = system;
  }

  /** Every file of the view. */
  files(): Map<string, string> {
    const files = new Map<string, string>();
    const emit = (path: string, content: string) => files.set(path, content);
    deviceFiles(this.#system, emit, () => {});
    irqFiles(this.#system, emit);
    for (const provider of this.#system.sysfsProviders()) provider(emit);
    return files;
  }

  /** Every symlink of the view: path → target, relative as sysfs makes them. */
  links(): Map<string, string> {
    const links = new Map<string, string>();
    deviceFiles(this.#system, () => {}, (path, target) => links.set(path, target));
    return links;
  }

  #canonical(path: string): string {
    const m = /^\/sys\/bus\/([^/]+)\/devices\/([^/]+)(\/.*)?$/.exec(path);
    if (!m) return path.replace(/\/+$/, "");
    const dev = this.#system.device(m[2]!, m[1]!);
    if (!dev) return path;
    return `${dev.sysfsPath}${m[3] ?? ""}`.replace(/\/+$/, "");
  }

  /** Content of one file; ENOENT when the view has no such file. */
  read(path: string): string {
    if (typeof path !== "string") throw new ImsimError("EINVAL", `sysfs path must be a string, got ${describe(path)}`);
    const content = this.files().get(this.#canonical(path));
    if (content === undefined) throw new ImsimError("ENOENT", `no sysfs file ${path}`);
    return content;
  }

  /** Names directly under `dir` (files, links and directories), numbers in numeric order; ENOENT when empty or absent. */
  list(dir: string): string[] {
    if (typeof dir !== "string") throw new ImsimError("EINVAL", `sysfs path must be a string, got ${describe(dir)}`);
    const prefix = `${this.#canonical(dir)}/`;
    const names = new Set<string>();
    for (const path of [...this.files().keys(), ...this.links().keys()]) {
      if (path.startsWith(prefix)) names.add(path.slice(prefix.length).split("/")[0]!);
    }
    if (names.size === 0) throw new ImsimError("ENOENT", `no sysfs directory ${dir}`);
    return [...names].sort(compareNames);
  }
}

/** Numbers numerically, otherwise by code unit: how the views order a directory. */
export function compareNames(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isInteger(na) && Number.isInteger(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}
