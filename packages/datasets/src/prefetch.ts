// Ordered prefetching: runs up to `ahead` async jobs before the consumer asks for
// them, so decoding overlaps training while memory stays bounded.

/** Yields fn(item) for each item in order, computing at most `ahead` results in advance. */
export async function* prefetchMap<T, R>(items: readonly T[], fn: (item: T, index: number) => Promise<R>, ahead = 2): AsyncGenerator<R> {
  const depth = Math.max(1, Math.floor(ahead));
  const pending: Promise<R>[] = [];
  let next = 0;
  const launch = () => {
    const i = next++;
    const p = fn(items[i]!, i);
    p.catch(() => undefined); // rejection is reported when awaited; do not crash if the consumer stopped early
    pending.push(p);
  };
  while (next < items.length && pending.length < depth) launch();
  while (pending.length > 0) {
    const r = await pending.shift()!;
    if (next < items.length) launch();
    yield r;
  }
}
