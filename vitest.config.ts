import { defineConfig } from 'vitest/config';

/** PostgreSQL tests get a real server from their global setup; the rest never start one. */
const postgresTests = ['src/store/postgres/**/*.test.ts', 'test/postgres/**/*.test.ts'];
/** Browser tests get the dashboard built once by their global setup. */
const browserTests = ['test/web/**/*.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'web/**/*.test.ts'], exclude: ['**/node_modules/**', ...postgresTests, ...browserTests] },
      },
      {
        extends: true,
        test: { name: 'postgres', include: postgresTests, globalSetup: ['test/postgres/global-setup.ts'] },
      },
      {
        extends: true,
        // A page updates after a round trip or two; on a loaded machine that can take seconds.
        test: { name: 'browser', include: browserTests, globalSetup: ['test/web/global-setup.ts'], expect: { poll: { timeout: 15_000 } } },
      },
    ],
  },
});
