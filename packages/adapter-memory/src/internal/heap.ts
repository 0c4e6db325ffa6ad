/**
 * A binary min-heap ordered by `(at, id)`.
 * @internal
 */
export interface HeapEntry<I extends string> {
  readonly at: number
  readonly id: I
}

const less = <I extends string>(a: HeapEntry<I>, b: HeapEntry<I>): boolean =>
  a.at < b.at || (a.at === b.at && a.id < b.id)

export class MinHeap<I extends string> {
  private readonly items: Array<HeapEntry<I>> = []

  get size(): number {
    return this.items.length
  }

  peek(): HeapEntry<I> | undefined {
    return this.items[0]
  }

  push(entry: HeapEntry<I>): void {
    const items = this.items
    items.push(entry)
    let i = items.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      const parent = items[p]!
      if (!less(entry, parent)) break
      items[i] = parent
      i = p
    }
    items[i] = entry
  }

  pop(): HeapEntry<I> | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined || items.length === 0) return top
    let i = 0
    const n = items.length
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const c = r < n && less(items[r]!, items[l]!) ? r : l
      if (!less(items[c]!, last)) break
      items[i] = items[c]!
      i = c
    }
    items[i] = last
    return top
  }
}
