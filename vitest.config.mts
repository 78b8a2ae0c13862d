import { defineConfig } from 'vitest/config';

const shared = {
  testTimeout: 30_000,
  hookTimeout: 60_000,
  pool: 'forks',
} as const;

export default defineConfig({
  test: {
    projects: [
      {
        // Pure logic on in-memory fakes: no Azurite, no build (`npm run test:unit`).
        test: { ...shared, name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        // Real parts: Azurite for the run, the stand-ins, the local host.
        test: {
          ...shared,
          name: 'system',
          include: ['test/**/*.test.ts'],
          exclude: ['test/unit/**'],
          globalSetup: ['test/globalSetup.ts'],
        },
      },
    ],
  },
});
