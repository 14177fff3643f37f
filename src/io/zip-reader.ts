/**
 * A strict reader of the zip archives `torch.save` writes: entries are STORED (uncompressed), so
 * an entry is a view of the file's bytes. Every offset and size is checked against the file
 * before use, so a truncated or forged archive is a `WeightsError`, never a crash or a large
 * allocation. (A general zip library would also inflate compressed entries, which torch never
 * writes and which would open the door to zip bombs.)
 */
import { WeightsError } from '../errors.js';

const EOCD = 0x06054b50;
const ZIP64_EOCD_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL_ENTRY = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;

function fail(what: string): never {
  throw new WeightsError(`not a readable PyTorch checkpoint: ${what}`);
}

class Reader {
  constructor(private readonly view: DataView) {}

  private check(offset: number, length: number, what: string): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || offset + length > this.view.byteLength) {
      fail(`${what} at byte ${offset} runs past the end of the file (truncated or corrupt)`);
    }
  }

  u16(offset: number, what: string): number {
    this.check(offset, 2, what);
    return this.view.getUint16(offset, true);
  }

  u32(offset: number, what: string): number {
    this.check(offset, 4, what);
    return this.view.getUint32(offset, true);
  }

  u64(offset: number, what: string): number {
    this.check(offset, 8, what);
    const value = this.view.getBigUint64(offset, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${what} is implausibly large`);
    return Number(value);
  }

  bytes(offset: number, length: number, what: string): Uint8Array {
    this.check(offset, length, what);
    return new Uint8Array(this.view.buffer, this.view.byteOffset + offset, length);
  }
}

/** Entry name -> its bytes (views into `file`, not copies). */
export function readStoredZip(file: Uint8Array): Map<string, Uint8Array> {
  const r = new Reader(new DataView(file.buffer, file.byteOffset, file.byteLength));
  // The end-of-central-directory record is in the last 64 KiB + 22 bytes (its comment is at most 64 KiB).
  let eocd = -1;
  for (let i = file.length - 22; i >= Math.max(0, file.length - 22 - 0xffff); i--) {
    if (r.u32(i, 'signature') === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail('no zip end-of-central-directory record (truncated, or not a zip-format torch.save file)');
  let count = r.u16(eocd + 10, 'entry count');
  let cdSize = r.u32(eocd + 12, 'central directory size');
  let cdOffset = r.u32(eocd + 16, 'central directory offset');
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const locator = eocd - 20;
    if (r.u32(locator, 'zip64 locator') !== ZIP64_EOCD_LOCATOR) fail('zip64 fields without a zip64 locator');
    const zip64 = r.u64(locator + 8, 'zip64 record offset');
    if (r.u32(zip64, 'zip64 record') !== ZIP64_EOCD) fail('bad zip64 end-of-central-directory record');
    count = r.u64(zip64 + 32, 'zip64 entry count');
    cdSize = r.u64(zip64 + 40, 'zip64 central directory size');
    cdOffset = r.u64(zip64 + 48, 'zip64 central directory offset');
  }
  if (cdOffset + cdSize > file.length || count > cdSize / 46) fail('central directory out of bounds');
  const entries = new Map<string, Uint8Array>();
  const decoder = new TextDecoder('utf-8', { fatal: false });
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (r.u32(p, 'central directory entry') !== CENTRAL_ENTRY) fail(`bad central directory entry ${n}`);
    const method = r.u16(p + 10, 'compression method');
    let size = r.u32(p + 20, 'compressed size');
    let uncompressed = r.u32(p + 24, 'size');
    const nameLength = r.u16(p + 28, 'name length');
    const extraLength = r.u16(p + 30, 'extra length');
    const commentLength = r.u16(p + 32, 'comment length');
    let localOffset = r.u32(p + 42, 'local header offset');
    const name = decoder.decode(r.bytes(p + 46, nameLength, 'entry name'));
    // Zip64 sizes and offsets live in the extra field (id 0x0001), in this order, when the 32-bit ones are saturated.
    let e = p + 46 + nameLength;
    const extraEnd = e + extraLength;
    while (e + 4 <= extraEnd) {
      const id = r.u16(e, 'extra id');
      const len = r.u16(e + 2, 'extra length');
      if (id === 0x0001) {
        let q = e + 4;
        if (uncompressed === 0xffffffff) {
          uncompressed = r.u64(q, 'zip64 size');
          q += 8;
        }
        if (size === 0xffffffff) {
          size = r.u64(q, 'zip64 compressed size');
          q += 8;
        }
        if (localOffset === 0xffffffff) localOffset = r.u64(q, 'zip64 offset');
      }
      e += 4 + len;
    }
    if (method !== 0) fail(`entry '${name}' is compressed (method ${method}); torch.save writes stored entries only`);
    if (size !== uncompressed) fail(`entry '${name}' has inconsistent sizes`);
    if (r.u32(localOffset, 'local header') !== LOCAL_HEADER) fail(`bad local header for '${name}'`);
    const dataStart =
      localOffset + 30 + r.u16(localOffset + 26, 'local name length') + r.u16(localOffset + 28, 'local extra length');
    entries.set(name, r.bytes(dataStart, size, `data of '${name}'`));
    p += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}
