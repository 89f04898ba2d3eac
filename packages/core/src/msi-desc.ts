// include/linux/msi.h struct msi_desc: one interrupt of a device at an index of one of its domains.
import type { Device } from "./device.js";
import type { MsiMsg } from "./msi-message.js";

/**
 * One MSI descriptor. Linux: struct msi_desc; `msiIndex` is msi_desc::msi_index, `cookie` the
 * msi_instance_cookie the allocation passed (msi_desc::data.icookie, e.g. a PASID), `msg` the
 * cached msi_msg last written to the store.
 */
export class MsiDesc {
  readonly device: Device;
  readonly domainId: number;
  readonly msiIndex: number;
  /** Index in the physical store (differs from msiIndex when the domain covers a slice). */
  readonly storeIndex: number;
  /** The Linux irq; 0 while the descriptor is not associated (MSI_DESC_NOTASSOCIATED). */
  virq: number;
  /**
   * The instance cookie. The allocation sets it; `MsiDomain.setCookie` changes it for a live
   * interrupt (the model's stand-in for a driver updating `desc->data.icookie` under the descriptor
   * lock: v6.9 had no API for it, see MsiDomain.setCookie).
   */
  cookie: number;
  /** Last message written; updated in place, never reallocated. */
  readonly msg: MsiMsg = { addressLo: 0, addressHi: 0, data: 0 };
  /** PASID last written with the message (-1: none). */
  pasid = -1;
  /** How many times the message was written to the store: a live-interrupt disturbance counter. */
  writes = 0;
  /** A message (not the all-zero one of a deactivated interrupt) is in the store entry. */
  hasMessage = false;

  constructor(device: Device, domainId: number, msiIndex: number, storeIndex: number, virq: number, cookie: number) {
    this.device = device;
    this.domainId = domainId;
    this.msiIndex = msiIndex;
    this.storeIndex = storeIndex;
    this.virq = virq;
    this.cookie = cookie;
  }
}
