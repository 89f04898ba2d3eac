/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78; RFC 3720 appendix B.4), the CRC a DSA
 * CRC Generation operation computes. imsim's seed convention: `crc32c(data, 0)` is the standard
 * CRC-32C (crc32c("123456789") = 0xE3069283), and `crc32c(b, crc32c(a))` = `crc32c(a ‖ b)`, so a seed
 * is the CRC of the data before.
 */
const POLY = 0x82f63b78;
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32c(data: Uint8Array, seed = 0, start = 0, end = data.length): number {
  let c = ~seed >>> 0;
  for (let i = start; i < end; i++) c = (TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8)) >>> 0;
  return ~c >>> 0;
}
