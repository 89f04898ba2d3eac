import { ImsimError, checkInt } from "@imsim/core";

/**
 * Alignment rules of one inbound memory window, as `ntb_mw_get_align()` reports them
 * (include/linux/ntb.h): the translated address must be a multiple of `addrAlign`, the size a
 * multiple of `sizeAlign`, and at most `sizeMax`.
 */
export interface MwAlign {
  addrAlign: number;
  sizeAlign: number;
  sizeMax: number;
}

/**
 * Defaults of this model (not a particular part): 1 MiB address alignment and a 1 MiB window, so a
 * window set up by ntb_msi_setup_mws() covers the whole x86 MSI range 0xFEE00000-0xFEEFFFFF.
 * Real parts report their own values through ntb_mw_get_align().
 */
export const DEFAULT_MW_ALIGN: Readonly<MwAlign> = Object.freeze({ addrAlign: 0x100000, sizeAlign: 0x1000, sizeMax: 0x100000 });

/** Largest physical address of this model (52-bit, x86-64 MAXPHYADDR), kept exact in a JS number. */
export const MAX_PHYS_ADDR = 2 ** 52 - 1;

function isPow2(v: number): boolean {
  return Number.isInteger(v) && v > 0 && 2 ** Math.round(Math.log2(v)) === v;
}

/** Rounds `value` up to a multiple of `align` (round_up, include/linux/math.h), exact beyond 32 bits. */
export function roundUp(value: number, align: number): number {
  return Math.ceil(value / align) * align;
}

/** Rounds `value` down to a multiple of `align` (`addr & ~(align - 1)` in ntb_msi_setup_mws), exact beyond 32 bits. */
export function alignDown(value: number, align: number): number {
  return Math.floor(value / align) * align;
}

/**
 * One inbound memory window of an NTB port: the peer writes into its outbound aperture (a BAR of its
 * NTB function, `ntb_peer_mw_get_addr()`), and the bridge translates offset `o` of that aperture to
 * local physical address `xlat + o` when `o < size` (`ntb_mw_set_trans()` / `ntb_mw_clear_trans()`,
 * include/linux/ntb.h). Offsets beyond the translated size, or any offset while no translation is
 * set, reach nothing.
 */
export class MemoryWindow {
  readonly index: number;
  readonly addrAlign: number;
  readonly sizeAlign: number;
  readonly sizeMax: number;
  #xlat = 0;
  #size = 0;

  constructor(index: number, align: MwAlign) {
    this.index = index;
    for (const [k, v] of Object.entries(align)) {
      if (!isPow2(v) || v > 2 ** 40) throw new ImsimError("EINVAL", `memory window ${index}: ${k} must be a power of two up to 2^40, got ${String(v)}`);
    }
    if (align.sizeMax < align.sizeAlign) throw new ImsimError("EINVAL", `memory window ${index}: sizeMax ${align.sizeMax} is below sizeAlign ${align.sizeAlign}`);
    this.addrAlign = align.addrAlign;
    this.sizeAlign = align.sizeAlign;
    this.sizeMax = align.sizeMax;
  }

  get translated(): boolean {
    return this.#size > 0;
  }
  /** Local address the window starts at (meaningful while translated). */
  get xlatAddress(): number {
    return this.#xlat;
  }
  get xlatSize(): number {
    return this.#size;
  }

  /** ntb_mw_set_trans(): EINVAL unless the address and size respect the window's alignment and maximum. */
  setTranslation(address: number, size: number): void {
    this.checkTranslation(address, size);
    this.#xlat = address;
    this.#size = size;
  }

  /** Throws what setTranslation(address, size) would refuse with, changing nothing. */
  checkTranslation(address: number, size: number): void {
    checkInt(address, 0, MAX_PHYS_ADDR, `translation address of memory window ${this.index}`);
    checkInt(size, 1, this.sizeMax, `translation size of memory window ${this.index} (sizeMax 0x${this.sizeMax.toString(16)})`);
    if (address % this.addrAlign !== 0) {
      throw new ImsimError("EINVAL", `memory window ${this.index}: address 0x${address.toString(16)} is not aligned to 0x${this.addrAlign.toString(16)}`);
    }
    if (size % this.sizeAlign !== 0) {
      throw new ImsimError("EINVAL", `memory window ${this.index}: size 0x${size.toString(16)} is not a multiple of 0x${this.sizeAlign.toString(16)}`);
    }
  }

  /** ntb_mw_clear_trans(). */
  clearTranslation(): void {
    this.#xlat = 0;
    this.#size = 0;
  }

  /** Local physical address that aperture offset `offset` reaches, -1 when it reaches nothing (hot path). */
  translate(offset: number): number {
    return offset >= 0 && offset < this.#size ? this.#xlat + offset : -1;
  }
}
