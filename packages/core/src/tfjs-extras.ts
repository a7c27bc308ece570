// tfjs-core's gradient and chained-op registrations ship only as extensionless ESM
// files that Node cannot load; the build bundles this file (scripts/bundle-tfjs-extras.mjs)
// so dist/ runs in plain Node. Registries and the engine live on the JS global, so
// the bundled copy registers into the same tfjs as '@tensorflow/tfjs-core'.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
// The tape filter of tfjs's own backward, for core's memory-freeing one (second-order/backprop.ts).
export { getFilteredNodesXToY } from '@tensorflow/tfjs-core/dist/tape.js';
