import { ImsimError, checkInt } from "@imsim/core";

/**
 * The scratchpad registers of one NTB port: 32-bit registers the local side writes with
 * `ntb_spad_write()` and the peer reads with `ntb_peer_spad_read()` (include/linux/ntb.h). Clients
 * use them to exchange setup data; ntb_transport publishes its MSI descriptors there
 * (drivers/ntb/ntb_transport.c). The count is the part's own (`ntb_spad_count()`).
 */
export class ScratchpadBank {
  readonly count: number;
  readonly #regs: Uint32Array;

  constructor(count: number) {
    this.count = checkInt(count, 1, 4096, "scratchpad count");
    this.#regs = new Uint32Array(count);
  }

  #check(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) {
      throw new ImsimError("EINVAL", `scratchpad ${String(index)} is outside [0, ${this.count - 1}]`);
    }
  }
  read(index: number): number {
    this.#check(index);
    return this.#regs[index]!;
  }
  write(index: number, value: number): void {
    this.#check(index);
    checkInt(value, -0x80000000, 0xffffffff, `value for scratchpad ${index}`);
    this.#regs[index] = value >>> 0;
  }
  /** Zeroes every register (what ntb_transport's link cleanup does to its scratchpads). */
  clear(): void {
    this.#regs.fill(0);
  }
}
