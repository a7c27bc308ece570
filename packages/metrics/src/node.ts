// @noether/metrics/node: the Node-only part of the metrics, kept out of '@noether/metrics' so that
// a browser bundle of the metrics pulls in no Node module (apps/cli/test/browser.test.ts checks it).
export { loadLpipsWeights } from './lpips/loader.js';
