import { noetherVitest } from '../../vitest.shared.ts';

export default noetherVitest();
