import os from "node:os";

/** The machine a report was measured on (compare.json `machine`). */
export interface MachineInfo {
  platform: string;
  arch: string;
  release: string;
  cpus: number;
  cpuModel: string;
  totalMemoryBytes: number;
  node: string;
  v8: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    platform: os.platform(),
    arch: os.arch(),
    release: os.release(),
    cpus: typeof os.availableParallelism === "function" ? os.availableParallelism() : cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    totalMemoryBytes: os.totalmem(),
    node: process.version,
    v8: process.versions.v8,
  };
}
