// kernel/irq/affinity.c irq_create_affinity_masks() over lib/group_cpus.c group_cpus_evenly():
// how the kernel spreads managed interrupts over CPUs.
import { Cpumask } from "./cpumask.js";

/**
 * Spreads `nvec` managed interrupts over `cpus` as group_cpus_evenly() does on one NUMA node
 * without SMT siblings: with at least as many CPUs as interrupts, consecutive groups of
 * floor(n / nvec) CPUs, the first (n mod nvec) groups one CPU larger; with more interrupts than
 * CPUs, one CPU per interrupt, wrapping around. (Several nodes or sibling grouping are not
 * modelled: imsim hosts have one node.)
 */
export function spreadAffinity(nvec: number, cpus: Cpumask): Cpumask[] {
  const list = cpus.toArray();
  const n = list.length;
  const out: Cpumask[] = [];
  if (nvec >= n) {
    for (let i = 0; i < nvec; i++) out.push(Cpumask.single(cpus.nrCpus, list[i % n]!));
    return out;
  }
  const base = Math.floor(n / nvec);
  let extra = n % nvec;
  let at = 0;
  for (let i = 0; i < nvec; i++) {
    const size = base + (extra > 0 ? 1 : 0);
    if (extra > 0) extra--;
    out.push(Cpumask.of(cpus.nrCpus, list.slice(at, at + size)));
    at += size;
  }
  return out;
}
