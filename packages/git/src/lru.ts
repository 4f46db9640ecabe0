/** A small least-recently-used map for immutable git objects (trees, commits, parsed blobs keyed by id). */
export class LruMap<K, V> {
  readonly #max: number
  readonly #map = new Map<K, V>()

  /** @param max Entries kept; the least recently used is dropped beyond it. */
  constructor(max: number) {
    this.#max = max
  }

  /** The value for `key`, marking it recently used. */
  get(key: K): V | undefined {
    const value = this.#map.get(key)
    if (value !== undefined) {
      this.#map.delete(key)
      this.#map.set(key, value)
    }
    return value
  }

  /** Stores a value, dropping the oldest entry when full. */
  set(key: K, value: V): void {
    this.#map.delete(key)
    this.#map.set(key, value)
    if (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next()
      if (!oldest.done) this.#map.delete(oldest.value)
    }
  }
}
