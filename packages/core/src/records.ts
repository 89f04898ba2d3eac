// The records a strategy design keeps, named for reports and counted for "nothing leaked" checks.
// No kernel counterpart. Their sizes are never computed here: the bench measures bytes from the V8
// heap (forced-GC heap deltas), so a design names what it holds and counts how many there are.

/** One kind of record a design keeps; `per` says what it grows with. */
export interface StrategyRecord {
  /** What it is, for a reader: "queue table rows", "per-vector contexts", … */
  what: string;
  per: "fixed" | "queue" | "interrupt";
  /** How many the design holds now, counted from its live structures. */
  count: number;
}

/** A strategy's records at one moment, with the queues and interrupts they serve. */
export interface StrategyRecords {
  strategy: string;
  queues: number;
  interrupts: number;
  /** Sum of the records' counts: equal before and after an operation that left nothing behind. */
  objects: number;
  records: StrategyRecord[];
}

export function summarizeRecords(strategy: string, queues: number, interrupts: number, records: StrategyRecord[]): StrategyRecords {
  let objects = 0;
  for (const r of records) objects += r.count;
  return { strategy, queues, interrupts, objects, records };
}
