import { ImsimError } from "@imsim/core";
import { alignDown, roundUp } from "./memory-window.js";
import type { NtbDevice, NtbWriteResult } from "./ntb-device.js";

/** The MSI window of ntb_msi_setup_mws(): translated [base, base + size), descriptors accepted in [base, end). */
export interface MsiWindow {
  base: number;
  size: number;
  end: number;
}

/** First window size ntb_msi_setup_mws() tries: SZ_32K (drivers/ntb/msi.c). */
export const NTB_MSI_MIN_WINDOW = 0x8000;

/**
 * What the peer needs to trigger one interrupt: the offset of the message address inside the MSI
 * window and the data to write there. Linux: `struct ntb_msi_desc` {u32 addr_offset; u32 data}
 * (include/linux/ntb.h).
 */
export interface NtbMsiDesc {
  addrOffset: number;
  data: number;
}

/**
 * The NTB MSI layer of one host (Linux: `struct ntb_msi` hung on `ntb->msi`, drivers/ntb/msi.c):
 * - init: reserves the last memory window for interrupts (ntb_msi_init maps the last peer window);
 * - setupMws: points that inbound window at the MSI address range (ntb_msi_setup_mws: the first
 *   interrupt's address aligned down to the window's address alignment, size 32 KiB rounded up to
 *   the size alignment and then raised to the window's maximum, as the kernel's max() does), and
 *   records [base, end) with end = base + 32 KiB (the kernel's mw_min_size, never raised by max());
 * - descOf: ntb_msi_set_desc, EINVAL (the kernel's EFAULT) when the message address is outside
 *   [base, end);
 * - peerTrigger: ntb_msi_peer_trigger, a 32-bit write of `data` at `addrOffset` of the window.
 *
 * Deviation: Linux takes the base from the first associated descriptor of `ntb->pdev`. With
 * design A the descriptors live on subdevices, not on the PCI function, so the caller passes the
 * address of the first interrupt it publishes (see NtbTransport).
 */
export class NtbMsi {
  readonly ntb: NtbDevice;
  /** The memory window used for interrupts: the last one. */
  readonly widx: number;
  #base = -1;
  #end = -1;

  constructor(ntb: NtbDevice) {
    this.ntb = ntb;
    if (ntb.mwCount < 1) throw new ImsimError("EINVAL", `${ntb.name} has no memory window for MSI`);
    this.widx = ntb.mwCount - 1;
  }

  /** Whether setupMws has programmed the window since the last clear. */
  get ready(): boolean {
    return this.#base >= 0;
  }
  get base(): number {
    return this.#base;
  }
  get end(): number {
    return this.#end;
  }

  /** ntb_msi_setup_mws() with `firstAddress` = the first interrupt's 64-bit message address. */
  setupMws(firstAddress: number): void {
    const w = this.plan(firstAddress);
    this.ntb.mwSetTrans(this.widx, w.base, w.size);
    this.#base = w.base;
    this.#end = w.end;
  }

  /**
   * The window setupMws(firstAddress) would program, or what it would refuse with (EINVAL):
   * nothing changes. Lets a caller check every descriptor of an operation before it writes any.
   */
  plan(firstAddress: number): MsiWindow {
    const align = this.ntb.mwGetAlign(this.widx);
    const base = alignDown(firstAddress, align.addrAlign);
    let size = roundUp(NTB_MSI_MIN_WINDOW, align.sizeAlign);
    size = Math.max(size, align.sizeMax);
    this.ntb.window(this.widx).checkTranslation(base, size);
    // end_addr = addr + mw_min_size, and mw_min_size starts at SZ_32K and only ever takes a smaller
    // mw_size, which max() above never produces: descriptors are accepted in the first 32 KiB only,
    // however large the translated window is (drivers/ntb/msi.c ntb_msi_setup_mws).
    return { base, size, end: base + Math.min(NTB_MSI_MIN_WINDOW, size) };
  }

  /** ntb_msi_clear_mws(). */
  clearMws(): void {
    this.ntb.mwClearTrans(this.widx);
    this.#base = -1;
    this.#end = -1;
  }

  /** ntb_msi_set_desc(): fills `out` from a message; EINVAL when the address is outside the window. */
  descOf(addressLo: number, addressHi: number, data: number, out: NtbMsiDesc): NtbMsiDesc {
    if (!this.ready) throw new ImsimError("EINVAL", `MSI window of ${this.ntb.name} is not set up (link down or no interrupt yet)`);
    return this.descIn(this.#base, this.#end, addressLo, addressHi, data, out);
  }

  /** descOf against window [base, end) (one from `plan`), whether or not it is programmed yet. */
  descIn(base: number, end: number, addressLo: number, addressHi: number, data: number, out: NtbMsiDesc): NtbMsiDesc {
    const address = (addressHi >>> 0) * 2 ** 32 + (addressLo >>> 0);
    if (address < base || address >= end) {
      throw new ImsimError(
        "EINVAL",
        `MSI address 0x${address.toString(16)} is not within the memory window [0x${base.toString(16)}, 0x${end.toString(16)}) of ${this.ntb.system.name}/${this.ntb.name} (Linux: EFAULT)`,
      );
    }
    out.addrOffset = address - base;
    out.data = data >>> 0;
    return out;
  }

  /**
   * ntb_msi_peer_trigger(): writes the descriptor's data into the peer's window (through this host's
   * aperture). The kernel indexes a u32 array (addr_offset / 4); x86 MSI addresses keep bits 1:0
   * reserved, so real offsets are multiples of 4 and the offset is used as given here.
   */
  peerTrigger(addrOffset: number, data: number): NtbWriteResult {
    return this.ntb.peerMwWrite32(this.widx, addrOffset, data);
  }
}
