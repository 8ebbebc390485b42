/**
 * A list kept in order on insert (binary search), for items that are unique
 * under `before` (a tie-breaker makes them so). Removal finds the item by the
 * same search, so both are O(log n) plus the array move.
 */
export class SortedList<T> {
  private readonly items: T[] = [];

  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  get first(): T | undefined {
    return this.items[0];
  }

  at(index: number): T | undefined {
    return this.items[index];
  }

  insert(item: T): void {
    this.items.splice(this.positionOf(item), 0, item);
  }

  /** Removes `item` (the same object that was inserted); false when it is not here. */
  remove(item: T): boolean {
    const at = this.positionOf(item);
    if (this.items[at] !== item) return false;
    this.items.splice(at, 1);
    return true;
  }

  shift(): T | undefined {
    return this.items.shift();
  }

  [Symbol.iterator](): Iterator<T> {
    return this.items[Symbol.iterator]();
  }

  /** First index whose item does not sort before `item`. */
  private positionOf(item: T): number {
    let low = 0;
    let high = this.items.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.before(this.items[mid]!, item)) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
