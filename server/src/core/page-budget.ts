/**
 * The most encoded bytes of items one list page carries. gRPC clients in every
 * language refuse messages over 4 MiB by default, and tasks and runs can hold
 * 256 KiB of JSON each: a page of 1000 of them must not become an answer the
 * caller cannot read. A page cut short still has a next_page_token (AIP-158).
 */
export const MAX_PAGE_BYTES = 3 * 1024 * 1024;

/** Counts a page's items and their encoded bytes against page_size and MAX_PAGE_BYTES. */
export class PageBudget {
  private count = 0;
  private bytes = 0;

  constructor(
    private readonly size: number,
    private readonly maxBytes = MAX_PAGE_BYTES,
  ) {}

  /** Takes an item of `bytes` if it fits; the first item always does, so every page makes progress. */
  take(bytes: number): boolean {
    if (this.count > 0 && (this.count >= this.size || this.bytes + bytes > this.maxBytes)) return false;
    this.count++;
    this.bytes += bytes;
    return true;
  }

  get full(): boolean {
    return this.count >= this.size;
  }
}

/** The longest prefix of `items` that fits one page (never empty when `items` is not). */
export function pagePrefix<T>(items: readonly T[], pageSize: number, bytesOf: (item: T) => number): T[] {
  const budget = new PageBudget(pageSize);
  const end = items.findIndex((item) => !budget.take(bytesOf(item)));
  return end === -1 ? [...items] : items.slice(0, end);
}
