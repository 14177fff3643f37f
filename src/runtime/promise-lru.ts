/**
 * Values made asynchronously, by key, least recently used first, bounded by the total of their
 * sizes (`sizeOf`, counted once a value is made). A key asked again while its value is being made
 * gets the same promise, so each is made once; a failed value is not kept (the next request tries
 * again); a value larger than the whole bound is returned but not kept. `evict` receives what the
 * bound drops. No imports: `featurefx serve` keeps its exports in one (sized in bytes) and the
 * browser page its ONNX Runtime sessions (one each, released when dropped).
 */
export class PromiseLru<T> {
  readonly #entries = new Map<string, { value: Promise<T>; size: number }>();
  #size = 0;

  constructor(
    readonly limit: number,
    private readonly sizeOf: (value: T) => number,
    private readonly evict: (value: T) => void = () => undefined,
  ) {
    if (!(Number.isSafeInteger(limit) && limit >= 0))
      throw new RangeError(`PromiseLru: limit must be a whole number, got ${limit}`);
  }

  get(key: string, make: () => Promise<T>): Promise<T> {
    const cached = this.#entries.get(key);
    if (cached !== undefined) {
      // Map keeps insertion order: re-inserting makes this the most recently used.
      this.#entries.delete(key);
      this.#entries.set(key, cached);
      return cached.value;
    }
    const entry = { value: make(), size: 0 };
    this.#entries.set(key, entry);
    entry.value.then(
      (value) => {
        if (this.#entries.get(key) !== entry) return;
        const size = this.sizeOf(value);
        if (size > this.limit) {
          this.#entries.delete(key);
          return;
        }
        entry.size = size;
        this.#size += size;
        this.#dropOldest();
      },
      () => {
        if (this.#entries.get(key) === entry) this.#entries.delete(key);
      },
    );
    return entry.value;
  }

  /** Forgets every entry and returns their promises (made or still being made), for the caller to release. */
  clear(): Promise<T>[] {
    const values = [...this.#entries.values()].map((e) => e.value);
    this.#entries.clear();
    this.#size = 0;
    return values;
  }

  /** Drops the least recently used made entries until the total fits. */
  #dropOldest(): void {
    for (const [key, entry] of this.#entries) {
      if (this.#size <= this.limit) return;
      if (entry.size === 0) continue;
      this.#entries.delete(key);
      this.#size -= entry.size;
      void entry.value.then(this.evict);
    }
  }
}
