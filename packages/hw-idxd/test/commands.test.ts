import { describe, expect, test } from "vitest";
import * as R from "../src/registers.js";
import type { IdxdDevice } from "../src/index.js";
import { bare } from "./support/boot.js";

function cmd(d: IdxdDevice, code: number, operand = 0): { err: number; result: number } {
  d.write(R.IDXD_CMD, 4, ((code << R.CMD_CODE_SHIFT) | operand) >>> 0);
  const s = d.read(R.IDXD_CMDSTS, 4);
  return { err: s & 0xff, result: (s >>> 8) & 0xffff };
}

/** WQ 0 dedicated size 8 and WQ 1 shared size 4, both in group 0 with engine 0. */
function configure(d: IdxdDevice): void {
  d.write(d.wqcfgOffset + R.WQCFG_WQ_SIZE, 4, 8);
  d.write(d.wqcfgOffset + R.WQCFG_MODE_PASID, 4, R.WQCFG_MODE_DEDICATED);
  d.write(d.wqcfgOffset + R.WQCFG_SIZE + R.WQCFG_WQ_SIZE, 4, 4);
  d.write(d.grpcfgOffset + R.GRPCFG_WQS, 8, 3n);
  d.write(d.grpcfgOffset + R.GRPCFG_ENGINES, 8, 1n);
}

describe("commands and their status", () => {
  test("enable device needs bus mastering, then succeeds once; a second enable reports DEV_ENABLED", () => {
    const { device: d } = bare();
    configure(d);
    expect(cmd(d, R.CMD_ENABLE_DEVICE).err).toBe(R.CMDSTS_ERR_BUSMASTER_EN);
    expect(d.state).toBe(R.DEVICE_STATE_DISABLED);
    d.setBusMaster(true);
    expect(cmd(d, R.CMD_ENABLE_DEVICE).err).toBe(R.CMDSTS_SUCCESS);
    expect(d.read(R.IDXD_GENSTATS, 4) & 3).toBe(R.DEVICE_STATE_ENABLED);
    expect(cmd(d, R.CMD_ENABLE_DEVICE).err).toBe(R.CMDSTS_ERR_DEV_ENABLED);
    expect(d.enabled).toBe(true);
  });

  test("enable device validates the configuration", () => {
    const cases: [string, (d: IdxdDevice) => void, number][] = [
      ["WQ sizes above total_wq_size", (d) => d.write(d.wqcfgOffset + R.WQCFG_WQ_SIZE, 4, 200), R.CMDSTS_ERR_WQ_SIZE_ERANGE],
      ["a group with WQs and no engine", (d) => d.write(d.grpcfgOffset + R.GRPCFG_ENGINES, 8, 0n), R.CMDSTS_ERR_GRP_CONFIG],
      ["a WQ in two groups", (d) => { d.write(d.grpcfgOffset + R.GRPCFG_SIZE + R.GRPCFG_WQS, 8, 1n); d.write(d.grpcfgOffset + R.GRPCFG_SIZE + R.GRPCFG_ENGINES, 8, 2n); }, R.CMDSTS_ERR_GRP_CONFIG2],
      ["a sized WQ in no group", (d) => d.write(d.grpcfgOffset + R.GRPCFG_WQS, 8, 1n), R.CMDSTS_ERR_GRP_CONFIG3],
    ];
    for (const [, mutate, code] of cases) {
      const { device: d } = bare();
      d.setBusMaster(true);
      configure(d);
      mutate(d);
      expect(cmd(d, R.CMD_ENABLE_DEVICE).err).toBe(code);
      expect(d.enabled).toBe(false);
    }
  });

  test("WQ commands in the wrong state report their errors and change nothing", () => {
    const { device: d } = bare();
    d.setBusMaster(true);
    configure(d);
    expect(cmd(d, R.CMD_ENABLE_WQ, 0).err).toBe(R.CMDSTS_ERR_DEV_NOTEN);
    expect(cmd(d, R.CMD_DISABLE_WQ, 1).err).toBe(R.CMDSTS_ERR_DEV_NOT_EN);
    expect(cmd(d, R.CMD_DISABLE_DEVICE).err).toBe(R.CMDSTS_ERR_DIS_DEV_EN);
    expect(cmd(d, R.CMD_DRAIN_ALL).err).toBe(R.CMDSTS_ERR_DEV_NOT_EN);
    cmd(d, R.CMD_ENABLE_DEVICE);
    expect(cmd(d, R.CMD_ENABLE_WQ, 8).err).toBe(R.CMDSTS_INVAL_WQIDX);
    expect(cmd(d, R.CMD_ENABLE_WQ, 2).err).toBe(R.CMDSTS_ERR_WQ_SIZE);
    expect(cmd(d, R.CMD_ENABLE_WQ, 0).err).toBe(R.CMDSTS_SUCCESS);
    expect(cmd(d, R.CMD_ENABLE_WQ, 0).err).toBe(R.CMDSTS_ERR_WQ_ENABLED);
    expect(cmd(d, R.CMD_DISABLE_WQ, 1 << 9).err).toBe(R.CMDSTS_INVAL_WQIDX);
    expect(d.wqEnabled(0)).toBe(true);
    // DISABLE_WQ takes a bit mask: bit 0 = WQ 0.
    expect(cmd(d, R.CMD_DISABLE_WQ, 1).err).toBe(R.CMDSTS_SUCCESS);
    expect(d.wqEnabled(0)).toBe(false);
    expect(cmd(d, R.CMD_DISABLE_DEVICE).err).toBe(R.CMDSTS_SUCCESS);
    expect(d.enabled).toBe(false);
  });

  test("invalid command codes report INVAL_CMD", () => {
    const { device: d } = bare();
    for (const code of [0, 15, 31]) expect(cmd(d, code).err).toBe(R.CMDSTS_INVAL_CMD);
    // Without cmd_cap the interrupt-handle commands do not exist.
    const { device: old } = bare({ intHandles: false });
    expect(cmd(old, R.CMD_REQUEST_INT_HANDLE, 1).err).toBe(R.CMDSTS_INVAL_CMD);
  });

  test("interrupt handles are requested and released per table; bad indices report INVAL_INT_IDX", () => {
    const { device: d } = bare();
    expect(cmd(d, R.CMD_REQUEST_INT_HANDLE, 3)).toEqual({ err: 0, result: 3 });
    expect(cmd(d, R.CMD_REQUEST_INT_HANDLE, R.CMD_INT_HANDLE_IMS | 2047)).toEqual({ err: 0, result: 2047 });
    expect(cmd(d, R.CMD_REQUEST_INT_HANDLE, 9).err).toBe(R.CMDSTS_ERR_INVAL_INT_IDX);
    expect(cmd(d, R.CMD_REQUEST_INT_HANDLE, R.CMD_INT_HANDLE_IMS | 2048).err).toBe(R.CMDSTS_ERR_INVAL_INT_IDX);
    expect(cmd(d, R.CMD_RELEASE_INT_HANDLE, R.CMD_INT_HANDLE_IMS | 2047).err).toBe(0);
    expect(cmd(d, R.CMD_RELEASE_INT_HANDLE, R.CMD_INT_HANDLE_IMS | 2047).err).toBe(R.CMDSTS_ERR_INVAL_INT_IDX);
    expect(cmd(d, R.CMD_RELEASE_INT_HANDLE, R.CMD_INT_HANDLE_IMS | 3).err).toBe(R.CMDSTS_ERR_INVAL_INT_IDX);
  });

  test("reset device disables everything and clears the configuration", () => {
    const { device: d } = bare();
    d.setBusMaster(true);
    configure(d);
    cmd(d, R.CMD_ENABLE_DEVICE);
    cmd(d, R.CMD_ENABLE_WQ, 0);
    d.write(R.IDXD_GENCTRL, 4, 3);
    expect(cmd(d, R.CMD_RESET_DEVICE).err).toBe(0);
    expect(d.enabled).toBe(false);
    expect(d.wqEnabled(0)).toBe(false);
    expect(d.read(d.wqcfgOffset, 4)).toBe(0);
    expect(d.read(d.grpcfgOffset + R.GRPCFG_ENGINES, 8)).toBe(0n);
    expect(d.read(R.IDXD_GENCTRL, 4)).toBe(0);
  });
});
