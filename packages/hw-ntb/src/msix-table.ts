import { Entry16Store, checkInt } from "@imsim/core";

/** Called after an entry's message was (re)written; `index` is the table entry. */
export type EntryWriteHook = (index: number) => void;

/** Largest MSI-X table (PCI_MSIX_FLAGS_QSIZE 0x7ff, N-1 encoded; include/uapi/linux/pci_regs.h). */
export const MSIX_TABLE_MAX = 2048;

/**
 * The MSI-X table of an NTB PCI function, as the message store of its interrupts, with a hook on
 * every message write. The hook is the model's `msi_desc::write_msi_msg` callback that ntb_msi
 * installs on each interrupt it hands out (drivers/ntb/msi.c ntbm_msi_setup_callback): when the
 * kernel rewrites a message (affinity change or CPU offline without interrupt remapping), the NTB
 * layer learns the new address/data and re-publishes the descriptor to the peer.
 *
 * `virtualVectors` entries beyond the hardware table model PCI_IRQ_VIRTUAL (switchtec's extra
 * vectors, drivers/pci/msi/msi.c sets the MSI-X domain hwsize to nvec): never used by the device
 * itself, only triggered by the peer through the memory window.
 */
export class NtbMsixTable extends Entry16Store {
  /** Entries of the hardware table; entries from here up are virtual. */
  readonly tableSize: number;
  #hook: EntryWriteHook | undefined;

  constructor(tableSize: number, virtualVectors: number, requesterId: number) {
    checkInt(tableSize, 1, MSIX_TABLE_MAX, "MSI-X table size");
    checkInt(virtualVectors, 0, 65536 - tableSize, "virtual vector count");
    super({ chipName: "PCI-MSIX", size: tableSize + virtualVectors, requesterId, pasid: false, msixTable: true });
    this.tableSize = tableSize;
  }

  /** Installs (or with undefined removes) the write hook. One hook: the NTB MSI layer of this function. */
  setWriteHook(hook: EntryWriteHook | undefined): void {
    this.#hook = hook;
  }

  override writeMessage(index: number, addressLo: number, addressHi: number, data: number): void {
    super.writeMessage(index, addressLo, addressHi, data);
    if (this.#hook !== undefined) this.#hook(index);
  }
}
