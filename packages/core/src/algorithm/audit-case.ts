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
      tf.tidy(() => {
        const all: Params = { ...prefixParams(a.theta, 'theta'), ...prefixParams(a.phi, 'phi') };
        valueAndGradsOf((v) => metaLoss(a.setup, scopeParams(v, 'theta'), scopeParams(v, 'phi'), a.batch, 0), all);
      });
      disposeParams(a.theta, a.phi);
      tf.dispose([a.batch.obs, ...(a.batch.actions ? [a.batch.actions] : [])]);
    },
  };
}
