// Shallow size estimates for V8 heap objects (64-bit, pointer compression off): a header plus a slot
// per field or element. They are estimates for comparing designs, cross-checked by the bench against
// a heap measurement; they are computed from the structures a strategy really holds.
const HEADER = 24;
const SLOT = 8;

/** Bytes of a plain object with its own enumerable and private fields counted by the caller. */
export function objectBytes(fields: number): number {
  return HEADER + SLOT * fields;
}
export function arrayBytes(array: readonly unknown[]): number {
  return HEADER + 16 + SLOT * array.length;
}
export function typedArrayBytes(array: ArrayBufferView): number {
  return HEADER * 3 + array.byteLength;
}
export function mapBytes(map: ReadonlyMap<unknown, unknown>): number {
  return HEADER * 2 + 3 * SLOT * map.size + 2 * SLOT * Math.max(map.size, 2);
}
export function setBytes(set: ReadonlySet<unknown>): number {
  return HEADER * 2 + 2 * SLOT * set.size + 2 * SLOT * Math.max(set.size, 2);
}
export function stringBytes(s: string): number {
  return 16 + ((s.length + 7) & ~7);
}

/** One kind of bookkeeping a strategy keeps, and what it costs. `per` says what it grows with. */
export interface FootprintItem {
  what: string;
  per: "fixed" | "queue" | "interrupt";
  objects: number;
  bytes: number;
}

export interface Footprint {
  strategy: string;
  queues: number;
  interrupts: number;
  objects: number;
  bytes: number;
  /** Bookkeeping that grows with queues, divided by the number of queues (0 without queues). */
  perQueue: { objects: number; bytes: number };
  /** Bookkeeping that grows with interrupts, divided by the number of interrupts (0 without). */
  perInterrupt: { objects: number; bytes: number };
  items: FootprintItem[];
}

export function summarizeFootprint(strategy: string, queues: number, interrupts: number, items: FootprintItem[]): Footprint {
  const sum = (per: FootprintItem["per"] | undefined, key: "objects" | "bytes") =>
    items.filter((i) => per === undefined || i.per === per).reduce((a, i) => a + i[key], 0);
  const div = (a: number, b: number) => (b === 0 ? 0 : a / b);
  return {
    strategy,
    queues,
    interrupts,
    objects: sum(undefined, "objects"),
    bytes: sum(undefined, "bytes"),
    perQueue: { objects: div(sum("queue", "objects"), queues), bytes: div(sum("queue", "bytes"), queues) },
    perInterrupt: { objects: div(sum("interrupt", "objects"), interrupts), bytes: div(sum("interrupt", "bytes"), interrupts) },
    items,
  };
}
