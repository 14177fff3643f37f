/**
 * A minimal protobuf encoder: just the wire types ONNX's ModelProto uses (varint, 32-bit float,
 * length-delimited). Writing ONNX needs nothing more, so no protobuf library is pulled in.
 */
const textEncoder = new TextEncoder();

export class ProtobufWriter {
  private chunks: Uint8Array[] = [];
  private current: number[] = [];
  private length = 0;

  private flushCurrent(): void {
    if (this.current.length > 0) {
      this.chunks.push(Uint8Array.from(this.current));
      this.current = [];
    }
  }

  private pushByte(byte: number): void {
    this.current.push(byte);
    this.length += 1;
  }

  private pushBytes(bytes: Uint8Array): void {
    this.flushCurrent();
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  /** Varint of a non-negative or negative integer (negatives take ten bytes, as int64 requires). */
  varint(value: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(value));
    if (typeof value === 'number' && value >= 0 && value < 2 ** 31) {
      let n = value;
      while (n >= 0x80) {
        this.pushByte((n & 0x7f) | 0x80);
        n >>>= 7;
      }
      this.pushByte(n);
      return this;
    }
    while (v >= 0x80n) {
      this.pushByte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.pushByte(Number(v));
    return this;
  }

  private tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  int(field: number, value: number | bigint): this {
    this.tag(field, 0);
    return this.varint(value);
  }

  float(field: number, value: number): this {
    this.tag(field, 5);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    for (const b of bytes) this.pushByte(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, 2);
    this.varint(value.length);
    this.pushBytes(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value));
  }

  /**
   * Writes a nested message built by `build` as a length-delimited field. Its chunks are taken
   * over, not joined: joining at every level copied a model's weights once per level of nesting
   * (three times, 100 MB each for resnet50), where `finish` copies them once.
   */
  message(field: number, build: (w: ProtobufWriter) => void): this {
    const inner = new ProtobufWriter();
    build(inner);
    inner.flushCurrent();
    this.tag(field, 2);
    this.varint(inner.length);
    this.flushCurrent();
    for (const chunk of inner.chunks) this.chunks.push(chunk);
    this.length += inner.length;
    return this;
  }

  finish(): Uint8Array {
    this.flushCurrent();
    if (this.chunks.length === 1) return this.chunks[0]!;
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}
