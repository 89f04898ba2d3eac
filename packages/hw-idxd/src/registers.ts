/**
 * Intel DSA (IDXD) BAR0 register map, command codes and status codes.
 *
 * Sources (facts only, no code): Linux `drivers/dma/idxd/registers.h` (offsets, bitfield layouts of
 * GENCAP, WQCAP, GRPCAP, ENGCAP, OPCAP, TABLEOFF, GENCFG, GENCTRL, GENSTATS, INTCAUSE, CMD, CMDSTS,
 * SWERR, GRPCFG, WQCFG, MSIX_PERM; command and command-status enums), Linux
 * `include/uapi/linux/idxd.h` (descriptor flags, opcodes, completion status codes), the Intel DSA
 * Architecture Specification (portals, interrupt handles, IMS), and the unmerged IDXD IMS patches
 * (IMS entry layout; see ../../../shared/research/linux.md §4). Where imsim had to choose a value
 * the hardware documents elsewhere (or not at all), the comment says "imsim".
 */

// ------------------------------------------------------------------ register offsets (registers.h)

export const IDXD_VERSION = 0x00;
export const IDXD_GENCAP = 0x10;
export const IDXD_WQCAP = 0x20;
export const IDXD_GRPCAP = 0x30;
export const IDXD_ENGCAP = 0x38;
/** 256-bit operation capability bitmap: 4 × u64, bit n = opcode n supported. */
export const IDXD_OPCAP = 0x40;
/** 128-bit table offsets register (grpcfg, wqcfg, msix_perm, ims, perfmon: 16 bits each). */
export const IDXD_TABLEOFF = 0x60;
export const IDXD_GENCFG = 0x80;
export const IDXD_GENCTRL = 0x88;
export const IDXD_GENSTATS = 0x90;
export const IDXD_INTCAUSE = 0x98;
export const IDXD_CMD = 0xa0;
export const IDXD_CMDSTS = 0xa8;
export const IDXD_CMDCAP = 0xb0;
/** 256-bit software error register: 4 × u64. */
export const IDXD_SWERR = 0xc0;
export const IDXD_SWERR_SIZE = 32;
/** End of the fixed register block; tables follow. */
export const IDXD_REGS_END = 0x200;

/** Table offsets are in units of 0x100 bytes (IDXD_TABLE_MULT). */
export const IDXD_TABLE_MULT = 0x100;
/** TABLEOFF field positions (each 16 bits): grpcfg 15:0, wqcfg 31:16, msix_perm 47:32, ims 63:48, perfmon 79:64. */
export const TABLEOFF_GRPCFG_SHIFT = 0;
export const TABLEOFF_WQCFG_SHIFT = 16;
export const TABLEOFF_MSIX_PERM_SHIFT = 32;
export const TABLEOFF_IMS_SHIFT = 48;

// ------------------------------------------------------------------ GENCAP bits (union gen_cap_reg)

export const GENCAP_BLOCK_ON_FAULT = 1n << 0n;
export const GENCAP_OVERLAP_COPY = 1n << 1n;
export const GENCAP_CACHE_CONTROL_MEM = 1n << 2n;
export const GENCAP_CACHE_CONTROL_CACHE = 1n << 3n;
export const GENCAP_CMD_CAP = 1n << 4n;
export const GENCAP_DEST_READBACK = 1n << 8n;
export const GENCAP_MAX_XFER_SHIFT = 16n; // 5 bits, 20:16
export const GENCAP_MAX_BATCH_SHIFT = 21n; // 4 bits, 24:21
export const GENCAP_MAX_IMS_MULT_SHIFT = 25n; // 6 bits, 30:25
export const GENCAP_CONFIG_EN = 1n << 31n;
/** IMS size = max_ims_mult × 256 (unmerged IDXD IMS patch, Sep 2020; research/linux.md §4). */
export const IMS_MULT_UNIT = 256;
/**
 * GENCAP as reported by a DSA 1.0 on an Emerald Rapids Xeon (`accel-config list`, posted Mar 2026,
 * research/linux.md §4): block_on_fault, overlap_copy, cache_control_mem, dest_readback,
 * max_xfer_shift 31, max_batch_shift 10, max_ims_mult 8, config_en. Its cmd_cap bit is 0.
 */
export const GENCAP_OBSERVED = 0x40915f0107n;

// ------------------------------------------------------------------ WQCAP / GRPCAP / ENGCAP

export const WQCAP_TOTAL_SIZE_SHIFT = 0n; // 16 bits
export const WQCAP_NUM_WQS_SHIFT = 16n; // 8 bits
export const WQCAP_WQCFG_SIZE_SHIFT = 24n; // 4 bits: WQCFG entry = 1 << (value + 5) bytes
export const WQCAP_SHARED_MODE = 1n << 48n;
export const WQCAP_DEDICATED_MODE = 1n << 49n;
export const WQCAP_PRIORITY = 1n << 51n;
export const GRPCAP_NUM_GROUPS_SHIFT = 0n; // 8 bits
export const GRPCAP_TOTAL_RDBUFS_SHIFT = 8n; // 8 bits
export const ENGCAP_NUM_ENGINES_SHIFT = 0n; // 8 bits

// ------------------------------------------------------------------ GENCFG / GENCTRL / GENSTATS

/** GENCFG: rdbuf_limit 7:0, user_int_en bit 12. */
export const GENCFG_WRITABLE = 0x000010ff;
export const GENCFG_USER_INT_EN = 1 << 12;
/** GENCTRL: softerr_int_en bit 0, halt_int_en bit 1 (evl_int_en bit 2 is read-only 0: no event log modelled). */
export const GENCTRL_SOFTERR_INT_EN = 1 << 0;
export const GENCTRL_HALT_INT_EN = 1 << 1;
export const GENCTRL_WRITABLE = 0x3;
/** GENSTATS state, bits 1:0 (enum idxd_device_status_state). */
export const DEVICE_STATE_DISABLED = 0;
export const DEVICE_STATE_ENABLED = 1;
export const DEVICE_STATE_DRAIN = 2;
export const DEVICE_STATE_HALT = 3;
/** GENSTATS reset type, bits 3:2. */
export const GENSTATS_RESET_TYPE_SHIFT = 2;

// ------------------------------------------------------------------ INTCAUSE (write 1 to clear)

export const INTC_ERR = 0x01;
export const INTC_CMD = 0x02;
export const INTC_OCCUPY = 0x04;
export const INTC_PERFMON_OVFL = 0x08;
export const INTC_HALT_STATE = 0x10;
export const INTC_EVL = 0x20;
export const INTC_INT_HANDLE_REVOKED = 0x80000000;
export const INTCAUSE_W1C = (INTC_ERR | INTC_CMD | INTC_OCCUPY | INTC_PERFMON_OVFL | INTC_HALT_STATE | INTC_EVL | INTC_INT_HANDLE_REVOKED) >>> 0;

// ------------------------------------------------------------------ CMD / CMDSTS

/** CMD: operand 19:0, cmd 24:20, int_req bit 31. */
export const CMD_OPERAND_MASK = 0xfffff;
export const CMD_CODE_SHIFT = 20;
export const CMD_CODE_MASK = 0x1f;
export const CMD_INT_REQ = 0x80000000;
/** Operand bit selecting the IMS table for REQUEST/RELEASE_INT_HANDLE (CMD_INT_HANDLE_IMS). */
export const CMD_INT_HANDLE_IMS = 0x10000;

/** enum idxd_cmd. */
export const CMD_ENABLE_DEVICE = 1;
export const CMD_DISABLE_DEVICE = 2;
export const CMD_DRAIN_ALL = 3;
export const CMD_ABORT_ALL = 4;
export const CMD_RESET_DEVICE = 5;
export const CMD_ENABLE_WQ = 6;
export const CMD_DISABLE_WQ = 7;
export const CMD_DRAIN_WQ = 8;
export const CMD_ABORT_WQ = 9;
export const CMD_RESET_WQ = 10;
export const CMD_DRAIN_PASID = 11;
export const CMD_ABORT_PASID = 12;
export const CMD_REQUEST_INT_HANDLE = 13;
export const CMD_RELEASE_INT_HANDLE = 14;

/** CMDSTS: err 7:0, result 23:8, active bit 31. */
export const CMDSTS_ERR_MASK = 0xff;
export const CMDSTS_RES_SHIFT = 8;
export const CMDSTS_ACTIVE = 0x80000000;

/** enum idxd_cmdsts_err. */
export const CMDSTS_SUCCESS = 0x00;
export const CMDSTS_INVAL_CMD = 0x01;
export const CMDSTS_INVAL_WQIDX = 0x02;
export const CMDSTS_HW_ERR = 0x03;
export const CMDSTS_ERR_DEV_ENABLED = 0x10;
export const CMDSTS_ERR_CONFIG = 0x11;
export const CMDSTS_ERR_BUSMASTER_EN = 0x12;
export const CMDSTS_ERR_PASID_INVAL = 0x13;
export const CMDSTS_ERR_WQ_SIZE_ERANGE = 0x14;
export const CMDSTS_ERR_GRP_CONFIG = 0x15;
export const CMDSTS_ERR_GRP_CONFIG2 = 0x16;
export const CMDSTS_ERR_GRP_CONFIG3 = 0x17;
export const CMDSTS_ERR_GRP_CONFIG4 = 0x18;
export const CMDSTS_ERR_DEV_NOTEN = 0x20;
export const CMDSTS_ERR_WQ_ENABLED = 0x21;
export const CMDSTS_ERR_WQ_SIZE = 0x22;
export const CMDSTS_ERR_WQ_PRIOR = 0x23;
export const CMDSTS_ERR_WQ_MODE = 0x24;
export const CMDSTS_ERR_BOF_EN = 0x25;
export const CMDSTS_ERR_PASID_EN = 0x26;
export const CMDSTS_ERR_MAX_BATCH_SIZE = 0x27;
export const CMDSTS_ERR_MAX_XFER_SIZE = 0x28;
export const CMDSTS_ERR_DIS_DEV_EN = 0x31;
export const CMDSTS_ERR_DEV_NOT_EN = 0x32;
export const CMDSTS_ERR_INVAL_INT_IDX = 0x41;
export const CMDSTS_ERR_NO_HANDLE = 0x42;

// ------------------------------------------------------------------ SWERR (union sw_err_reg)

/** Qword 0: valid b0, overflow b1, desc_valid b2, wq_idx_valid b3, batch b4, fault_rw b5, priv b6, error 15:8, wq_idx 23:16, operation 39:32, pasid 59:40. */
export const SWERR_VALID = 1 << 0;
export const SWERR_OVERFLOW = 1 << 1;
export const SWERR_DESC_VALID = 1 << 2;
export const SWERR_WQ_IDX_VALID = 1 << 3;
export const SWERR_FAULT_RW = 1 << 5;
export const SWERR_PRIV = 1 << 6;
/** Bits the driver writes back to acknowledge (IDXD_SWERR_ACK = valid | overflow). */
export const SWERR_ACK = SWERR_VALID | SWERR_OVERFLOW;
/** Qword 1: batch_idx 15:0, invalid_flags 63:32. Qword 2: fault_addr. */
export const SWERR_INVALID_FLAGS_OFFSET = 12;
export const SWERR_FAULT_ADDR_OFFSET = 16;
/**
 * imsim codes for submission errors that produce no descriptor status (a descriptor written to a
 * disabled or full dedicated WQ, or a portal write that is not one 64-byte descriptor). The DSA
 * specification has its own table of such codes; imsim does not claim to reproduce its values.
 */
export const SWERR_IMSIM_WQ_DISABLED = 0x80;
export const SWERR_IMSIM_DWQ_FULL = 0x81;
export const SWERR_IMSIM_BAD_PORTAL_WRITE = 0x82;

// ------------------------------------------------------------------ table entries

/** GRPCFG entry: wqs bitmap 4 × u64 at +0, engines u64 at +32, flags u32 at +40; 64 bytes each (GRPCFG_SIZE). */
export const GRPCFG_SIZE = 64;
export const GRPCFG_WQS = 0;
export const GRPCFG_ENGINES = 32;
export const GRPCFG_FLAGS = 40;
/** GRPCFG flags: tc_a 2:0, tc_b 5:3, use_rdbuf_limit 7, rdbufs_reserved 15:8, rdbufs_allowed 27:20. */
export const GRPCFG_FLAGS_WRITABLE = 0x0ff0ffbf;

/** WQCFG entry (union wqcfg), 32 bytes when WQCAP.wqcfg_size is 0. Dword offsets: */
export const WQCFG_SIZE = 32;
export const WQCFG_WQ_SIZE = 0x00; // wq_size 15:0
export const WQCFG_WQ_THRESH = 0x04; // wq_thresh 15:0
export const WQCFG_MODE_PASID = 0x08; // mode b0, bof b1, ats_dis b2, prs_dis b3, priority 7:4, pasid 27:8, pasid_en b28, priv b29
export const WQCFG_MAX_SHIFTS = 0x0c; // max_xfer_shift 4:0, max_batch_shift 8:5
export const WQCFG_OCC_INTH = 0x10;
export const WQCFG_OCC_LIMIT = 0x14;
export const WQCFG_OCC_STATE = 0x18; // occupancy 15:0 (RO), occupancy_int b16, mode_support b29, wq_state 31:30 (RO)
export const WQCFG_MODE_DEDICATED = 1 << 0;
export const WQCFG_BOF = 1 << 1;
export const WQCFG_PRIORITY_SHIFT = 4;
export const WQCFG_PASID_SHIFT = 8;
export const WQCFG_PASID_EN = 1 << 28;
export const WQCFG_PRIV = 1 << 29;
export const WQCFG_MODE_PASID_WRITABLE = 0x3fffffff;
export const WQCFG_STATE_SHIFT = 30;
export const WQ_STATE_DISABLED = 0;
export const WQ_STATE_ENABLED = 1;

/**
 * MSI-X permission entry (union msix_perm in registers.h; MSIXPERM, DSA spec §9.2.22): one 32-bit
 * register per MSI-X table entry, 8 bytes apart. Ignore b2: a descriptor completion interrupt through
 * this entry is not generated (and not left pending). PASID enable b3 and PASID 31:12: checked
 * against the descriptor before it executes (DSA spec §5.4); a mismatch is an invalid interrupt
 * handle (COMP_INT_HANDLE_INVAL). Bits 1:0 and 11:4 are reserved.
 */
export const MSIX_PERM_SIZE = 8;
export const MSIX_PERM_IGNORE = 1 << 2;
export const MSIX_PERM_PASID_EN = 1 << 3;
export const MSIX_PERM_PASID_SHIFT = 12;
export const MSIX_PERM_WRITABLE = 0xfffff00c;

/** IMS entry: 16 bytes {addr lo, addr hi, data, ctrl}; ctrl mask b0, PASID enable b3, PASID 31:12 (irq-pci-intel-idxd.c, unmerged). */
export const IMS_ENTRY_SIZE = 16;
export const IMS_CTRL_WRITABLE = 0xfffff009;
/**
 * irq_chip name of the IDXD IMS domain template (`.chip.name = "PCI-IDXD"` in tglx's unmerged
 * drivers/irqchip/irq-pci-intel-idxd.c, Nov 2022; research/linux.md §4). Per-device MSI domains name
 * their chip "<parent prefix><chip name>-<dev name>", so /proc/interrupts shows IR-PCI-IDXD-0000:6a:01.0.
 */
export const IMS_CHIP_NAME = "PCI-IDXD";

// ------------------------------------------------------------------ portals (BAR2)

/**
 * Each WQ has four 4 KiB portals: unlimited/limited × MSI-X/IMS. Offset within the WQ's 16 KiB =
 * prot × 0x1000 + irq_type × 0x2000 (IDXD IMS patch, Sep 2020; research/linux.md §4: "+0x2000 for IMS").
 * A descriptor's interrupt handle is looked up in the table its portal selects.
 */
export const PORTAL_SIZE = 0x1000;
export const PORTALS_PER_WQ = 4;
export const PORTAL_LIMITED = 0x1000;
export const PORTAL_IMS = 0x2000;
export function portalOffset(wq: number, limited: boolean, ims: boolean): number {
  return wq * PORTALS_PER_WQ * PORTAL_SIZE + (limited ? PORTAL_LIMITED : 0) + (ims ? PORTAL_IMS : 0);
}

// ------------------------------------------------------------------ descriptors (include/uapi/linux/idxd.h)

export const DESC_SIZE = 64;
export const COMP_RECORD_SIZE = 32;
/** DSA completion records are 32-byte aligned (DSA spec; misalignment → DSA_COMP_CRA_ALIGN). */
export const COMP_RECORD_ALIGN = 32;

/** Descriptor flags (IDXD_OP_FLAG_*). */
export const OP_FLAG_FENCE = 0x0001;
export const OP_FLAG_BOF = 0x0002;
export const OP_FLAG_CRAV = 0x0004;
export const OP_FLAG_RCR = 0x0008;
export const OP_FLAG_RCI = 0x0010;
export const OP_FLAG_CRSTS = 0x0020;
export const OP_FLAG_CR = 0x0080;
export const OP_FLAG_CC = 0x0100;
/** Flags bits 23:16 have no meaning on DSA 1.0: a set one is an invalid flag (imsim: bits 15:0 accepted). */
export const OP_FLAGS_DEFINED = 0xffff;

/** enum dsa_opcode. */
export const OPCODE_NOOP = 0x00;
export const OPCODE_BATCH = 0x01;
export const OPCODE_DRAIN = 0x02;
export const OPCODE_MEMMOVE = 0x03;
export const OPCODE_MEMFILL = 0x04;
export const OPCODE_COMPARE = 0x05;
export const OPCODE_COMPVAL = 0x06;
export const OPCODE_CRCGEN = 0x10;

/** enum dsa_completion_status. */
export const COMP_NONE = 0x00;
export const COMP_SUCCESS = 0x01;
export const COMP_SUCCESS_PRED = 0x02;
export const COMP_PAGE_FAULT_NOBOF = 0x03;
export const COMP_BAD_OPCODE = 0x10;
export const COMP_INVALID_FLAGS = 0x11;
export const COMP_NOZERO_RESERVE = 0x12;
export const COMP_XFER_ERANGE = 0x13;
export const COMP_OVERLAP_BUFFERS = 0x16;
export const COMP_INT_HANDLE_INVAL = 0x19;
export const COMP_CRA_XLAT = 0x1a;
export const COMP_CRA_ALIGN = 0x1b;
export const COMP_ADDR_ALIGN = 0x1c;
/** Status bit 7: the fault was on a write (DSA_COMP_STATUS_WRITE); the code is bits 6:0. */
export const COMP_STATUS_WRITE = 0x80;
export const COMP_STATUS_MASK = 0x7f;

/**
 * Completion record (struct dsa_completion_record): status 0, result 1, bytes_completed 4,
 * fault_addr 8, crc_val / invalid_flags (24 bits) 16. Bytes 2-3 are `rsvd` in the uapi struct:
 * CR_FAULT_INFO (byte 2) is imsim's name for a byte the model never writes (it reads 0).
 */
export const CR_STATUS = 0;
export const CR_RESULT = 1;
export const CR_FAULT_INFO = 2;
export const CR_BYTES_COMPLETED = 4;
export const CR_FAULT_ADDR = 8;
export const CR_CRC_VAL = 16;
export const CR_INVALID_FLAGS = 16;
