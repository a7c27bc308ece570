import { it } from 'vitest';
import { enumerate, compile, ConservationFitter, search } from '../src/index.js';
import { Rng } from '@noether/core';
import { pendulumData, springData } from './data.js';
it('scratch', () => {
  const data = pendulumData(1);
  const E = enumerate('pendulum', 7);
  const fitter = new ConservationFitter(data);
  for (const t of ['p^2 - c*cos(q)', 'p^2 + c*cos(q)', 'q^2 + c*p^2', 'sin(q)^2 + cos(q)^2']) {
    const i = E.find(t); const prog = compile(E.expr(i));
    const t0 = performance.now(); const r = fitter.fit(prog, new Rng(1)); 
    console.log(t, i, JSON.stringify(r), (performance.now()-t0).toFixed(1)+'ms');
  }
  for (const [sys, d, depth] of [['pendulum', data, 5], ['spring', springData(2), 5], ['pendulum', data, 6]] as const) {
    const t0 = performance.now();
    const res = search({ system: sys, depth, seed: 0, data: d });
    console.log(sys, depth, (performance.now()-t0).toFixed(0)+'ms', JSON.stringify(res.counts));
    for (const r of res.ranked.slice(0, 15)) console.log(r.index, r.formula, r.trueRatio.toExponential(2), r.randomRatio.toExponential(2));
  }
}, 600000);
