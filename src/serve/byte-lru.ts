/**
 * A least-recently-used cache of byte arrays made asynchronously, bounded by their total size.
 * A key asked again while its bytes are being made gets the same promise, so each is made once.
 * A failed promise is not kept (the next request tries again); bytes larger than the whole bound
 * are returned but not kept.
 */
export class ByteLru {
  readonly #entries = new Map<string, { bytes: Promise<Uint8Array>; size: number }>();
  #size = 0;

  constructor(readonly maxBytes: number) {
    if (!(Number.isSafeInteger(maxBytes) && maxBytes >= 0))
      throw new RangeError(`ByteLru: maxBytes must be a whole number of bytes, got ${maxBytes}`);
  }

  get(key: string, make: () => Promise<Uint8Array>): Promise<Uint8Array> {
    const cached = this.#entries.get(key);
    if (cached !== undefined) {
      // Map keeps insertion order: re-inserting makes this the most recently used.
      this.#entries.delete(key);
      this.#entries.set(key, cached);
      return cached.bytes;
    }
    const entry = { bytes: make(), size: 0 };
    this.#entries.set(key, entry);
    entry.bytes.then(
      (bytes) => {
        if (this.#entries.get(key) !== entry) return;
        if (bytes.byteLength > this.maxBytes) {
          this.#entries.delete(key);
          return;
        }
        entry.size = bytes.byteLength;
        this.#size += entry.size;
        this.#evict();
      },
      () => {
        if (this.#entries.get(key) === entry) this.#entries.delete(key);
      },
    );
    return entry.bytes;
  }

  /** Drops the least recently used finished entries until the total fits. */
  #evict(): void {
    for (const [key, entry] of this.#entries) {
      if (this.#size <= this.maxBytes) return;
      if (entry.size === 0) continue;
      this.#entries.delete(key);
      this.#size -= entry.size;
    }
  }
}
