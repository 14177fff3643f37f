/**
 * A strict reader of the zip archives `torch.save` writes: entries are STORED (uncompressed), so
 * an entry is a range of the file's bytes, read only when asked for. Only the end records, the
 * central directory and the local headers are read here, so an archive of any size (zip64
 * included) costs memory in proportion to its number of entries. Every offset and size is
 * checked against the file before use, so a truncated or forged archive is a `WeightsError`,
 * never a crash or a large allocation. (A general zip library would also inflate compressed
 * entries, which torch never writes and which would open the door to zip bombs.)
 */
import { WeightsError } from '../errors.js';
import { type ByteSource, readRange } from './byte-source.js';

const EOCD = 0x06054b50;
const ZIP64_EOCD_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL_ENTRY = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
const EOCD_SIZE = 22;
const ZIP64_LOCATOR_SIZE = 20;
const ZIP64_EOCD_SIZE = 56;
const CENTRAL_ENTRY_SIZE = 46;
const LOCAL_HEADER_SIZE = 30;
/** 32-bit fields hold this (16-bit ones 0xffff) when the real value is in a zip64 record. */
const SATURATED_32 = 0xffffffff;

/** A stored entry: its data is `size` bytes at `offset` in the file. */
export interface ZipEntry {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
}

function fail(what: string): never {
  throw new WeightsError(`not a readable PyTorch checkpoint: ${what}`);
}

/** Little-endian fields of a block of bytes read from the file, each checked against the block. */
class Fields {
  private readonly view: DataView;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private check(offset: number, length: number, what: string): void {
    if (offset < 0 || offset + length > this.bytes.length) fail(`${what} runs past the end of its record (corrupt)`);
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

  slice(offset: number, length: number, what: string): Uint8Array {
    this.check(offset, length, what);
    return this.bytes.subarray(offset, offset + length);
  }
}

const at = (file: ByteSource, position: number, length: number, what: string): Fields =>
  new Fields(readRange(file, position, length, what));

/** Where the central directory is and how many entries it has, from the end records. */
function findCentralDirectory(file: ByteSource): { count: number; size: number; offset: number } {
  // The end-of-central-directory record is in the last 64 KiB + 22 bytes (its comment is at most 64 KiB).
  if (file.size < EOCD_SIZE)
    fail('no zip end-of-central-directory record (truncated, or not a zip-format torch.save file)');
  const tailStart = Math.max(0, file.size - EOCD_SIZE - 0xffff);
  const tail = at(file, tailStart, file.size - tailStart, 'the end of the archive');
  let eocd = -1;
  for (let i = tail.bytes.length - EOCD_SIZE; i >= 0; i--) {
    if (tail.u32(i, 'signature') === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail('no zip end-of-central-directory record (truncated, or not a zip-format torch.save file)');
  const count = tail.u16(eocd + 10, 'entry count');
  const size = tail.u32(eocd + 12, 'central directory size');
  const offset = tail.u32(eocd + 16, 'central directory offset');
  if (count !== 0xffff && size !== SATURATED_32 && offset !== SATURATED_32) return { count, size, offset };
  const locatorAt = tailStart + eocd - ZIP64_LOCATOR_SIZE;
  if (locatorAt < 0) fail('zip64 fields without a zip64 locator');
  const locator = at(file, locatorAt, ZIP64_LOCATOR_SIZE, 'zip64 locator');
  if (locator.u32(0, 'zip64 locator') !== ZIP64_EOCD_LOCATOR) fail('zip64 fields without a zip64 locator');
  const zip64 = at(
    file,
    locator.u64(8, 'zip64 record offset'),
    ZIP64_EOCD_SIZE,
    'zip64 end-of-central-directory record',
  );
  if (zip64.u32(0, 'zip64 record') !== ZIP64_EOCD) fail('bad zip64 end-of-central-directory record');
  return {
    count: zip64.u64(32, 'zip64 entry count'),
    size: zip64.u64(40, 'zip64 central directory size'),
    offset: zip64.u64(48, 'zip64 central directory offset'),
  };
}

/** Entry name -> where its data lies in the file. No entry's data is read. */
export function readStoredZip(file: ByteSource): Map<string, ZipEntry> {
  const directory = findCentralDirectory(file);
  if (directory.offset + directory.size > file.size || directory.count > directory.size / CENTRAL_ENTRY_SIZE) {
    fail('central directory out of bounds');
  }
  const cd = at(file, directory.offset, directory.size, 'central directory');
  const entries = new Map<string, ZipEntry>();
  const decoder = new TextDecoder('utf-8', { fatal: false });
  let p = 0;
  for (let n = 0; n < directory.count; n++) {
    if (cd.u32(p, 'central directory entry') !== CENTRAL_ENTRY) fail(`bad central directory entry ${n}`);
    const method = cd.u16(p + 10, 'compression method');
    let size = cd.u32(p + 20, 'compressed size');
    let uncompressed = cd.u32(p + 24, 'size');
    const nameLength = cd.u16(p + 28, 'name length');
    const extraLength = cd.u16(p + 30, 'extra length');
    const commentLength = cd.u16(p + 32, 'comment length');
    let localOffset = cd.u32(p + 42, 'local header offset');
    const name = decoder.decode(cd.slice(p + CENTRAL_ENTRY_SIZE, nameLength, 'entry name'));
    // Zip64 sizes and offsets live in the extra field (id 0x0001), in this order, when the 32-bit ones are saturated.
    let e = p + CENTRAL_ENTRY_SIZE + nameLength;
    const extraEnd = e + extraLength;
    while (e + 4 <= extraEnd) {
      const id = cd.u16(e, 'extra id');
      const len = cd.u16(e + 2, 'extra length');
      if (id === 0x0001) {
        let q = e + 4;
        if (uncompressed === SATURATED_32) {
          uncompressed = cd.u64(q, 'zip64 size');
          q += 8;
        }
        if (size === SATURATED_32) {
          size = cd.u64(q, 'zip64 compressed size');
          q += 8;
        }
        if (localOffset === SATURATED_32) localOffset = cd.u64(q, 'zip64 offset');
      }
      e += 4 + len;
    }
    if (method !== 0) fail(`entry '${name}' is compressed (method ${method}); torch.save writes stored entries only`);
    if (size !== uncompressed) fail(`entry '${name}' has inconsistent sizes`);
    const local = at(file, localOffset, LOCAL_HEADER_SIZE, `local header of '${name}'`);
    if (local.u32(0, 'local header') !== LOCAL_HEADER) fail(`bad local header for '${name}'`);
    const offset =
      localOffset + LOCAL_HEADER_SIZE + local.u16(26, 'local name length') + local.u16(28, 'local extra length');
    if (offset + size > file.size) {
      fail(`data of '${name}' (${size} bytes at byte ${offset}) runs past the end of the file (truncated or corrupt)`);
    }
    entries.set(name, { name, offset, size });
    p += CENTRAL_ENTRY_SIZE + nameLength + extraLength + commentLength;
  }
  return entries;
}
