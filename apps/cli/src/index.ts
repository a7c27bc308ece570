export { main } from './main.js';
export { EXIT } from './cli/errors.js';
export type { Io } from './cli/io.js';
export { commands } from './commands/index.js';
export { experiments } from './experiments/index.js';
