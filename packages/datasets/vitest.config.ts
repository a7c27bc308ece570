import { noetherVitest } from '../../vitest.shared';

export default noetherVitest();
