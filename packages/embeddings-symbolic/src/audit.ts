// Second-order audit entries: formula embeddings using every DSL operation
// (+ − × ÷ sin cos square, trainable parameters), meta-trained through one tailoring step
// of core's example MLP predictor.
import { examples, GradientInnerOptimizer, metaStepAuditCase, type AuditCase, type MetaSetup } from '@noether/core';
import { parseFormula } from './parse.js';
import { symbolicEmbedding } from './tf-embedding.js';

export function auditCases(): AuditCase[] {
  const ds = examples.oscillatorDataset({ nTrain: 3, nTest: 1, seqLength: 3, seed: 5 });
  const formulas = ['p^2 - c*cos(q)', 'q^2 + c*p^2', 'sin(q)*p / (c + q^2)'];
  return formulas.map((f, i) =>
    metaStepAuditCase(`embeddings-symbolic/formula/${f}`, () => {
      const predictor = new examples.MlpStepPredictor(2, 4);
      const expr = parseFormula(f);
      const embedding = symbolicEmbedding(expr, [1.5]);
      const setup: MetaSetup = { predictor, embedding, mode: 'noether', inner: new GradientInnerOptimizer({ lr: 0.1 }), form: '2a', lrTheta: 1, lrPhi: 1 };
      return { setup, theta: predictor.init(i + 1), phi: embedding.init(0), batch: ds.gather('train', [0, 1, 2]) };
    }),
  );
}
