// Second-order audit entries: a tiny MLP and HNN, each meta-trained through one
// tailoring step (modes 'all' and 'cn'; Euler and RK4 steps), with a learned MLP embedding.
import { examples, GradientInnerOptimizer, metaStepAuditCase, type AuditCase, type MetaSetup, type TailorMode } from '@noether/core';
import { VectorFieldPredictor, type Integrator } from './vector-field.js';

export function auditCases(): AuditCase[] {
  const ds = examples.oscillatorDataset({ nTrain: 3, nTest: 1, seqLength: 3, seed: 4 });
  const make = (kind: 'mlp' | 'hnn', mode: TailorMode, integrator: Integrator = 'euler') => () => {
    const predictor = new VectorFieldPredictor(kind, { dt: 0.1, hidden: 4, integrator });
    const embedding = new examples.MlpEmbedding(2, 3, 2);
    const setup: MetaSetup = { predictor, embedding, mode: 'noether', tailorMode: mode, inner: new GradientInnerOptimizer({ lr: 0.1 }), form: '2a', lrTheta: 1, lrPhi: 1 };
    return { setup, theta: predictor.init(1), phi: embedding.init(2), batch: ds.gather('train', [0, 1, 2]) };
  };
  return [
    metaStepAuditCase('predictors-mlp/mlp/all', make('mlp', 'all')),
    metaStepAuditCase('predictors-mlp/mlp/cn', make('mlp', 'cn')),
    metaStepAuditCase('predictors-mlp/hnn/all', make('hnn', 'all')),
    // The HNN's CN layer sits inside the Hamiltonian, whose gradient gives the field: third order.
    metaStepAuditCase('predictors-mlp/hnn/cn', make('hnn', 'cn')),
    metaStepAuditCase('predictors-mlp/mlp/cn/rk4', make('mlp', 'cn', 'rk4')),
    metaStepAuditCase('predictors-mlp/hnn/all/rk4', make('hnn', 'all', 'rk4')),
  ];
}
