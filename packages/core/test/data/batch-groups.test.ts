import { describe, expect, it } from 'vitest';
import { batchGroups } from '../../src/index.js';

describe('batchGroups: how every data set cuts its batches', () => {
  it('in order, the last batch short unless dropLast, which keeps a lone batch', () => {
    expect(batchGroups(5, { batchSize: 2 })).toEqual([[0, 1], [2, 3], [4]]);
    expect(batchGroups(5, { batchSize: 2, dropLast: true })).toEqual([[0, 1], [2, 3]]);
    expect(batchGroups(3, { batchSize: 4, dropLast: true })).toEqual([[0, 1, 2]]);
    expect(batchGroups(0, { batchSize: 4 })).toEqual([]);
  });

  it('shuffles by seed: the same seed, the same batches; every index once', () => {
    const a = batchGroups(10, { batchSize: 3, shuffle: true, seed: 7 });
    expect(batchGroups(10, { batchSize: 3, shuffle: true, seed: 7 })).toEqual(a);
    expect(batchGroups(10, { batchSize: 3, shuffle: true, seed: 8 })).not.toEqual(a);
    expect(a.flat().sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('refuses a batch size that is not a positive integer (0 looped for ever)', () => {
    for (const batchSize of [0, -1, 1.5, NaN]) expect(() => batchGroups(4, { batchSize })).toThrow(`batchSize must be an integer ≥ 1, got ${batchSize}`);
  });
});
