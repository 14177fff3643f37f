/**
 * ONNX Runtime sessions by key, least recently used first, at most `capacity` of them: adding one
 * more disposes the oldest. Each session holds native memory (weights, buffers, a thread pool), so
 * the caches of eager kernels and of compiled modules are bounded this one way.
 */
export class SessionLru<T extends { dispose(): void }> {
  /** A Map keeps insertion order: re-inserting on use keeps the least recently used first. */
  private readonly entries = new Map<string, T>();

  constructor(private readonly capacity: number) {}

  get(key: string): T | undefined {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  add(key: string, entry: T): void {
    this.entries.set(key, entry);
    for (const [oldest, old] of this.entries) {
      if (this.entries.size <= this.capacity) break;
      old.dispose();
      this.entries.delete(oldest);
    }
  }

  clear(): void {
    for (const entry of this.entries.values()) entry.dispose();
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
