// A model's entry in the second-order audit: a closure that takes one meta-gradient
// (core's metaLoss through the inner step, w.r.t. θ and φ) on a tiny instance. Each
// plugin exports `auditCases()`; the audit traces the kernels these closures run and
// checks every one has a verified second-order gradient.
import { tf } from '../tf.js';
import type { Batch } from '../contracts.js';
import { disposeParams, prefixParams, scopeParams, type Params } from '../params.js';
import { valueAndGradsOf } from './inner.js';
import { metaLoss, type MetaSetup } from './meta.js';

export interface AuditCase {
  /** `<package>/<factory type>/<variant>`: the audit checks every registered type is covered. */
  name: string;
  run: () => void;
}

export function metaStepAuditCase(name: string, make: () => { setup: MetaSetup; theta: Params; phi: Params; batch: Batch }): AuditCase {
  return {
    name,
    run: () => {
      const a = make();
      try {
        tf.tidy(() => {
          const all: Params = { ...prefixParams(a.theta, 'theta'), ...prefixParams(a.phi, 'phi') };
          const { grads } = valueAndGradsOf((v) => metaLoss(a.setup, scopeParams(v, 'theta'), scopeParams(v, 'phi'), a.batch, 0), all);
          // φ reaches the task loss only through the inner gradient: a φ gradient of exactly 0 means the
          // meta-step never differentiated through tailoring, and a clean audit of it would be vacuous.
          // (dataSync, not tf ops: the trace must list the meta-step's kernels only.)
          const tailors = a.setup.mode === 'noether' && a.setup.inner.options.steps > 0 && !a.setup.inner.options.firstOrder;
          const phiGrads = Object.values(scopeParams(grads, 'phi'));
          if (tailors && phiGrads.length && !phiGrads.some((g) => g.dataSync().some((x) => x !== 0))) {
            throw new Error(
              `audit case '${name}': the embedding's meta-gradient is exactly 0, so this meta-step never differentiates through ` +
                `the tailoring step and the audit would not see its second-order kernels: make the tailored variables reach the ` +
                `rollout (the predictor must read them) and the embedding depend on its parameters`,
            );
          }
        });
      } finally {
        disposeParams(a.theta, a.phi);
        tf.dispose([a.batch.obs, ...(a.batch.actions ? [a.batch.actions] : [])]);
      }
    },
  };
}
