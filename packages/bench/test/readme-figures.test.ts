import { readFileSync } from "node:fs";
import type { HardwareAdapter } from "@imsim/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openCell } from "../src/cell-instance.js";
import {
  ALLOC_SCALING_GOAL,
  BYTES_MEASURED_OVER,
  CURVE_PASSES,
  DELIVER_RATIO_GOAL,
  DELIVER_SPREAD_GOAL,
  DELIVERY_ROUNDS,
  QUICK_DELIVERY_ROUNDS,
  QUICK_SCALE_DEVICES,
  SCALE_DEVICES,
} from "../src/compare.js";
import { WIDE_NTB_VECTORS, resolveHardware } from "../src/hardware.js";
import { STRATEGIES } from "../src/matrix.js";
import { ALLOC_CURVE_SIZES, BASELINE_PASSES, DELIVERY_PASSES, QUEUE_SLICE, SCAVENGE_FROM } from "../src/measure-perf.js";
import { ACTIVATE_EVERY, FILL_CPUS, FILL_QUEUE, SCALE_CPUS, SCALE_IOMMUS } from "../src/measure-scale.js";
import { FULL_TIMING, QUICK_TIMING } from "../src/timing.js";
import { PASID_LOOKUP_PASSES, PASID_LOOKUP_ROUNDS, STORAGE_MIN_INTERRUPTS, STORAGE_MIN_QUEUES } from "../src/measure-concerns.js";

// The run sizes and goals the README states are read from the bench's constants and the hardware it
// runs on, so that they cannot drift from them. Measured figures (ratios, ns, bytes) and conformance
// counts change from run to run or with every test added: the README's example report elides them.

const text = readFileSync(new URL("../README.md", import.meta.url), "utf8");
/** The README with line breaks and repeated spaces folded, so a phrase may wrap. */
const readme = text.replace(/\s+/g, " ");
/** Checks that the README says `phrase`; on failure, names the phrase rather than printing the README. */
const says = (phrase: string) => expect(readme.includes(phrase), `packages/bench/README.md should say: ${phrase}`).toBe(true);
const n = (x: number) => x.toLocaleString("en-US");
const WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];
const TIMES = ["never", "once", "twice"];

let idxdEntries = 0;
let ntbEntries = 0;
let ntbAdapterEntries = 0;
const closers: (() => void)[] = [];

/** Store size of `adapter`'s strategy, as the bench opens it. */
function storeSize(adapter: HardwareAdapter): number {
  const cell = openCell(adapter, STRATEGIES.subdevice, FILL_CPUS);
  closers.push(() => cell.close());
  return cell.strategy.store.size;
}

beforeAll(async () => {
  // The README describes the hardware packages, not the local stand-ins IMSIM_BENCH_LOCAL_HW selects.
  const forced = process.env["IMSIM_BENCH_LOCAL_HW"];
  delete process.env["IMSIM_BENCH_LOCAL_HW"];
  try {
    const idxd = await resolveHardware("idxd");
    const ntb = await resolveHardware("ntb");
    expect([idxd.source, ntb.source]).toEqual(["@imsim/hw-idxd", "@imsim/hw-ntb"]);
    idxdEntries = storeSize(idxd.fillAdapter);
    ntbEntries = storeSize(ntb.fillAdapter);
    ntbAdapterEntries = storeSize(ntb.adapter);
  } finally {
    if (forced !== undefined) process.env["IMSIM_BENCH_LOCAL_HW"] = forced;
  }
});

afterAll(() => {
  for (const close of closers) close();
});

describe("the bench README's figures are the bench's", () => {
  it("the scale run: one host, its CPUs and remapping units, devices, queue size, the activated share, and the quick run's device counts", () => {
    says(`All ${SCALE_DEVICES} devices of a run sit on **one** simulated host of ${SCALE_CPUS} CPUs with ${SCALE_IOMMUS} interrupt-remapping units`);
    says(`allocated in queues of ${FILL_QUEUE}.`);
    says(`Then one interrupt in ${ACTIVATE_EVERY} is requested`);
    says(`"scale": { "hosts": 1, "cpusPerHost": ${SCALE_CPUS}, "devicesPerHost": ${SCALE_DEVICES}, "entriesPerDevice": ${Math.floor(idxdEntries / FILL_QUEUE) * FILL_QUEUE},`);
    const quick = (entries: number) => Math.max(QUICK_SCALE_DEVICES, Math.ceil(BYTES_MEASURED_OVER / (Math.floor(entries / FILL_QUEUE) * FILL_QUEUE)));
    const ntbQueues = Math.floor(ntbEntries / FILL_QUEUE);
    says(
      `In quick mode the run uses just enough devices for ${n(BYTES_MEASURED_OVER)} interrupts, on the same one host: ${quick(idxdEntries)} IDXD devices of ${idxdEntries} IMS entries, ` +
        `or ${quick(ntbEntries)} NTB devices, whose ${ntbEntries}-entry tables hold ${ntbQueues} queues of ${FILL_QUEUE} (${ntbQueues * FILL_QUEUE} interrupts).`,
    );
    says(`over \`bytesMeasuredOver\` ≥ ${n(BYTES_MEASURED_OVER)} interrupts`);
  });

  it("the allocation curve: its sizes, NTB's wide table and the conformance adapter's", () => {
    const first = ALLOC_CURVE_SIZES[0];
    const last = ALLOC_CURVE_SIZES[ALLOC_CURVE_SIZES.length - 1]!;
    says(`when the store holds ${last} entries (${last}/${QUEUE_SLICE} queues of ${QUEUE_SLICE} each), divided by the same at ${first} entries`);
    says(`NTB runs it on a ${ntbEntries}-entry table, so its last point is ${Math.floor(ntbEntries / QUEUE_SLICE) * QUEUE_SLICE}.`);
    says(`and from ${SCAVENGE_FROM} entries up followed by a scavenge`);
    says(`use the same adapter with a ${ntbEntries}-entry MSI-X table (\`createNtbAdapter({ msixVectors: ${WIDE_NTB_VECTORS},`);
    says(`because \`ntbAdapter\`'s table has ${ntbAdapterEntries} entries`);
    says(`measures the allocation curve ${TIMES[1]} instead of ${TIMES[CURVE_PASSES]}`);
  });

  it("the delivery measurement: passes per sample, rounds, sampling time", () => {
    says(`${DELIVERY_PASSES} passes over the queue's 64 interrupts per sample (${BASELINE_PASSES} passes for the baseline)`);
    says(`in \`--quick\` mode (${WORDS[QUICK_DELIVERY_ROUNDS]} short rounds)`);
    says(`with ${WORDS[DELIVERY_ROUNDS]} rounds the lowest of one design`);
    says(`samples each task for ${QUICK_TIMING.time} ms instead of ${FULL_TIMING.time} ms`);
  });

  it("the goals", () => {
    says(`| ≤ ${DELIVER_RATIO_GOAL}, and the designs within ${DELIVER_SPREAD_GOAL * 100} % of each other |`);
    says(`| ≤ ${ALLOC_SCALING_GOAL} |`);
    says(`The goal of ≤ ${DELIVER_RATIO_GOAL} is`);
    says(`the "within ${DELIVER_SPREAD_GOAL * 100} %" goal`);
    says(`"goal": "deliverRatio ≤ ${DELIVER_RATIO_GOAL} (A subdevice / idxd)"`);
  });

  it("the storage minimums and the PASID lookup's passes", () => {
    says(`That is at least ${n(STORAGE_MIN_QUEUES)} queues and ${n(STORAGE_MIN_INTERRUPTS)} interrupts, quick mode included`);
    says(`storage must be measured from the heap over at least ${n(STORAGE_MIN_QUEUES)} queues and ${n(STORAGE_MIN_INTERRUPTS)} interrupts`);
    says(`timed over 32 descriptors, ${PASID_LOOKUP_PASSES} passes per sample, in a loop compiled for the cell alone; the lowest median of ${WORDS[PASID_LOOKUP_ROUNDS]} rounds.`);
  });

  it("the example report elides conformance counts and measured figures", () => {
    const example = /```jsonc\n([\s\S]*?)```/.exec(text)?.[1] ?? "";
    expect(example).toContain('"conformance": { "passed": …, "failed": 0, "skipped": …');
    for (const field of ["deliverNs", "deliverRatio", "allocScaling", "teardownScaling", "bytesPerInterrupt", "bytesPerQueue", "cheaper", "detail"]) {
      expect(example, field).toMatch(new RegExp(`"${field}": "?…`));
    }
  });
});
