// `node --import ./bench/meta-step/register-hook.mjs …`: installs resolve-hook.mjs.
import { register } from 'node:module';

register('./resolve-hook.mjs', import.meta.url);
