import { it } from 'vitest';
import * as fs from 'node:fs';
import { traceKernels } from '../../src/second-order/audit.js';
import { runGolden } from './golden-cases.js';
it('scratch', () => {
  const dir = '/work/shared/golden/second-order';
  const all = new Set<string>();
  for (const f of fs.readdirSync(dir)) {
    const { kernels } = traceKernels(() => runGolden(JSON.parse(fs.readFileSync(`${dir}/${f}`, 'utf8')), f));
    kernels.forEach((k) => all.add(k));
  }
  console.log('GOLD', JSON.stringify([...all].sort()));
});
