import { describe, expect, test } from "vitest";
import {
  COMP_SUCCESS,
  COMP_SUCCESS_PRED,
  IdxdUserQueue,
  Memory,
  OPCODE_COMPARE,
  OPCODE_CRCGEN,
  OPCODE_MEMFILL,
  OPCODE_MEMMOVE,
  OPCODE_NOOP,
  OP_FLAG_CR,
  OP_FLAG_CRAV,
  OP_FLAG_RCR,
  SUBMIT_ACCEPTED,
  SUBMIT_RETRY,
  crc32c,
  decodeDescriptor,
  encodeDescriptor,
  readCompletionRecord,
  type CompletionRecord,
} from "../src/index.js";
import { boot, pattern } from "./support/boot.js";

/** Plain reference implementations. */
const ref = {
  memmove(mem: Uint8Array, src: number, dst: number, n: number) {
    const tmp = mem.slice(src, src + n);
    mem.set(tmp, dst);
  },
  fill(mem: Uint8Array, dst: number, n: number, p: bigint) {
    for (let i = 0; i < n; i++) mem[dst + i] = Number((p >> BigInt(8 * (i % 8))) & 0xffn);
  },
  crc32c(data: Uint8Array): number {
    let c = 0xffffffff;
    for (const b of data) {
      c ^= b;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    }
    return ~c >>> 0;
  },
};

describe("descriptor format", () => {
  test("fields sit where include/uapi/linux/idxd.h puts them; int_handle is the u16 at byte 36", () => {
    const b = encodeDescriptor({ opcode: OPCODE_MEMMOVE, flags: 0x1c, pasid: 0xabcde, priv: true, completionAddr: 0x1000, src: 0x2000, dst: 0x3000n, xferSize: 0x40, intHandle: 0x1234 });
    const v = new DataView(b.buffer);
    expect(v.getUint32(0, true)).toBe((0xabcde | 0x80000000) >>> 0);
    expect(b[7]).toBe(OPCODE_MEMMOVE);
    expect(v.getUint32(4, true) & 0xffffff).toBe(0x1c);
    expect(v.getBigUint64(8, true)).toBe(0x1000n);
    expect(v.getBigUint64(16, true)).toBe(0x2000n);
    expect(v.getBigUint64(24, true)).toBe(0x3000n);
    expect(v.getUint32(32, true)).toBe(0x40);
    expect(v.getUint16(36, true)).toBe(0x1234);
    expect(decodeDescriptor(b)).toMatchObject({ opcode: 3, flags: 0x1c, pasid: 0xabcde, priv: true, intHandle: 0x1234, xferSize: 0x40, src: 0x2000n });
  });

  test("crc32c matches the known vector and a bitwise reference", () => {
    const v = new TextEncoder().encode("123456789");
    expect(crc32c(v)).toBe(0xe3069283);
    const data = pattern(5000, 3);
    expect(crc32c(data)).toBe(ref.crc32c(data));
    expect(crc32c(data.subarray(1000), crc32c(data.subarray(0, 1000)))).toBe(crc32c(data));
  });
});

describe("execution on simulated memory", () => {
  const run = (d: ReturnType<typeof boot>, desc: Parameters<typeof d.driver.submit>[1]): CompletionRecord => {
    let rec: CompletionRecord | undefined;
    d.driver.submit(0, desc, (r) => (rec = r));
    d.device.run();
    expect(rec).toBeDefined();
    return rec!;
  };

  test("memmove, fill, compare and CRC agree with plain reference implementations, overlapping moves included", () => {
    const b = boot();
    const { memory } = b;
    const base = memory.alloc(3 * 70000, 4096);
    const shadow = pattern(3 * 70000, 11);
    memory.write(base, shadow);
    const cases: [number, number, number][] = [
      [0, 100000, 70000], // disjoint, more than one 64 KiB chunk
      [10, 20, 90000], // overlapping, destination above
      [5000, 3, 66000], // overlapping, destination below
    ];
    for (const [s, d, n] of cases) {
      const r = run(b, { opcode: OPCODE_MEMMOVE, src: base + s, dst: base + d, xferSize: n });
      expect(r.status).toBe(COMP_SUCCESS);
      expect(r.bytesCompleted).toBe(n);
      ref.memmove(shadow, s, d, n);
      expect(memory.read(base, shadow.length)).toEqual(shadow);
    }
    const p = 0xdeadbeef01020304n;
    expect(run(b, { opcode: OPCODE_MEMFILL, pattern: p, dst: base + 7, xferSize: 1001 }).status).toBe(COMP_SUCCESS);
    ref.fill(shadow, 7, 1001, p);
    expect(memory.read(base, shadow.length)).toEqual(shadow);

    memory.write(base + 150000, shadow.subarray(0, 4000));
    const same = run(b, { opcode: OPCODE_COMPARE, src: base, src2: base + 150000, xferSize: 4000 });
    expect([same.status, same.result]).toEqual([COMP_SUCCESS, 0]);
    memory.write(base + 150000 + 1234, new Uint8Array([shadow[1234]! ^ 0xff]));
    const diff = run(b, { opcode: OPCODE_COMPARE, src: base, src2: base + 150000, xferSize: 4000 });
    expect([diff.status, diff.result, diff.bytesCompleted]).toEqual([COMP_SUCCESS, 1, 1234]);
    const pred = run(b, { opcode: OPCODE_COMPARE, flags: OP_FLAG_CR, src: base, src2: base + 150000, xferSize: 4000, expectedResult: 0 });
    expect(pred.status).toBe(COMP_SUCCESS_PRED);

    const crc = run(b, { opcode: OPCODE_CRCGEN, src: base, xferSize: 100000 });
    expect(crc.crc).toBe(ref.crc32c(shadow.subarray(0, 100000)));
    const seeded = run(b, { opcode: OPCODE_CRCGEN, src: base + 100, xferSize: 500, crcSeed: crc32c(shadow.subarray(0, 100)) });
    expect(seeded.crc).toBe(ref.crc32c(shadow.subarray(0, 600)));
    expect(run(b, { opcode: OPCODE_NOOP }).status).toBe(COMP_SUCCESS);
  });

  test("a full shared WQ answers ENQCMD with retry and takes descriptors again once the engines ran", () => {
    const b = boot(undefined, { driver: { wqs: [{ id: 1, type: "user", mode: "shared", size: 4, group: 0 }] } });
    const mem = new Memory(1 << 20, "process");
    const u = IdxdUserQueue.open(b.driver, { wq: 1, pasid: 9, memory: mem });
    const cr = Array.from({ length: 6 }, () => mem.alloc(32, 32));
    const results = cr.map((c) => u.submit({ opcode: OPCODE_NOOP, flags: OP_FLAG_CRAV | OP_FLAG_RCR, completionAddr: c }));
    expect(results).toEqual([0, 0, 0, 0, 1, 1]);
    expect(b.device.occupancy(1)).toBe(4);
    expect(b.device.read(b.device.wqcfgOffset + 32 + 0x18, 4) & 0xffff).toBe(4);
    expect(b.device.stats.retried).toBe(2);
    expect(b.device.run()).toBe(4);
    expect(cr.map((c) => readCompletionRecord(mem, c).status)).toEqual([1, 1, 1, 1, 0, 0]);
    expect(u.interrupts()).toBe(4);
    expect(u.submit({ opcode: OPCODE_NOOP, flags: OP_FLAG_CRAV | OP_FLAG_RCR, completionAddr: cr[4]! })).toBe(SUBMIT_ACCEPTED);
    b.device.run();
    expect(readCompletionRecord(mem, cr[4]!).status).toBe(COMP_SUCCESS);
  });

  test("a limited portal of a shared WQ refuses at the WQ threshold, the unlimited one does not", () => {
    const b = boot(undefined, { driver: { wqs: [{ id: 1, type: "user", mode: "shared", size: 4, threshold: 2, group: 0 }] } });
    const mem = new Memory(1 << 20, "process");
    b.device.bindPasid(3, mem);
    const release = b.driver.acquireWq(1, "user", -1);
    const d = encodeDescriptor({ opcode: OPCODE_NOOP });
    const limited = 1 * 0x4000 + 0x1000;
    expect([0, 1, 2].map(() => b.device.submit(limited, d, 3))).toEqual([SUBMIT_ACCEPTED, SUBMIT_ACCEPTED, SUBMIT_RETRY]);
    expect(b.device.submit(1 * 0x4000, d, 3)).toBe(SUBMIT_ACCEPTED);
    release();
  });
});
