import { defineConfig } from 'vitest/config';

/** Tests that need a Docker engine (testcontainers): `npm run test:docker`. Not part of `npm test`. */
export default defineConfig({
  test: {
    include: ['test/docker/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 300_000,
    maxWorkers: 1,
  },
});
