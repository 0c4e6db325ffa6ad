/**
 * An array-backed FIFO queue with O(1) amortised push and shift.
 * @internal
 */
export class Fifo<A> {
  private items: Array<A> = []
  private head = 0

  get size(): number {
    return this.items.length - this.head
  }

  push(a: A): void {
    this.items.push(a)
  }

  peek(): A | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined
  }

  shift(): A | undefined {
    if (this.head >= this.items.length) return undefined
    const a = this.items[this.head]
    this.head++
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return a
  }

  drain(): Array<A> {
    const out = this.items.slice(this.head)
    this.items = []
    this.head = 0
    return out
  }
}
