import { describe, expect, it } from 'vitest';
import { parseArgs, type FlagSpec } from '../src/cli/args.js';
import { UsageError } from '../src/cli/errors.js';

const specs: FlagSpec[] = [
  { name: 'out', short: 'o', type: 'string', description: 'dir' },
  { name: 'epochs', type: 'int', description: 'n' },
  { name: 'lr', type: 'number', description: 'lr' },
  { name: 'quick', type: 'boolean', description: 'q' },
  { name: 'set', type: 'list', description: 's' },
  { name: 'backend', type: 'string', choices: ['cpu', 'wasm'], description: 'b' },
];

describe('parseArgs', () => {
  it('parses long, short, inline, repeated and positional arguments', () => {
    const p = parseArgs(['NAME', '--out', 'd', '-o=x'.replace('-o=x', '--epochs=3'), '--lr', '1e-3', '--quick', '--set', 'a=1', '--set', 'b=2'], specs, [{ name: 'name', description: 'n' }]);
    expect(p.flags).toEqual({ out: 'd', epochs: 3, lr: 1e-3, quick: true, set: ['a=1', 'b=2'] });
    expect(p.positionals['name']).toBe('NAME');
    expect(parseArgs(['-o', 'x'], specs).flags['out']).toBe('x');
  });

  it('rejects an unknown flag, naming it and listing the valid ones', () => {
    expect(() => parseArgs(['--ouput', 'x'], specs)).toThrow(UsageError);
    expect(() => parseArgs(['--ouput', 'x'], specs)).toThrow(/unknown flag '--ouput'; valid flags: --out, --epochs, --lr, --quick, --set, --backend/);
    expect(() => parseArgs(['-z'], specs)).toThrow(/unknown flag '-z'/);
  });

  it('rejects missing values, bad numbers, bad choices and stray arguments', () => {
    expect(() => parseArgs(['--out'], specs)).toThrow(/--out needs a value/);
    expect(() => parseArgs(['--epochs', '2.5'], specs)).toThrow(/--epochs needs an integer, got '2.5'/);
    expect(() => parseArgs(['--lr', 'fast'], specs)).toThrow(/--lr needs a number/);
    expect(() => parseArgs(['--backend', 'gpu'], specs)).toThrow(/--backend must be one of cpu, wasm, got 'gpu'/);
    expect(() => parseArgs(['extra'], specs)).toThrow(/unexpected argument 'extra'/);
    expect(() => parseArgs(['--out', 'a', '--out', 'b'], specs)).toThrow(/given twice/);
    expect(() => parseArgs([], specs, [{ name: 'run', description: 'a run directory', required: true }])).toThrow(/missing RUN/);
  });

  it('collects variadic positionals and honours --', () => {
    const p = parseArgs(['a', 'b', '--', '--not-a-flag'], specs, [{ name: 'runs', description: 'r', variadic: true }]);
    expect(p.positionals['runs']).toEqual(['a', 'b', '--not-a-flag']);
  });
});
