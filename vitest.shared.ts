// One vitest setup for every package: tests import sibling packages from source
// through the "@noether/source" export condition, so no build is needed to test.
import { defineConfig } from 'vitest/config';

export function noetherVitest(overrides: { testTimeout?: number } = {}) {
  return defineConfig({
    ssr: { resolve: { conditions: ['@noether/source'] } },
    resolve: { conditions: ['@noether/source'] },
    test: {
      include: ['test/**/*.test.ts'],
      environment: 'node',
      pool: 'forks',
      testTimeout: overrides.testTimeout ?? 120_000,
      hookTimeout: 120_000,
      setupFiles: [new URL('./vitest.setup.ts', import.meta.url).pathname],
    },
  });
}
