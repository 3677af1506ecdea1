import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // test/docker needs a Docker engine: npm run test:docker (vitest.docker.config.ts)
    exclude: ['test/docker/**', '**/node_modules/**'],
    globalSetup: ['test/global-setup.ts'],
    // removes the temp dirs each file made (test/helpers/net.ts tempDir)
    setupFiles: ['test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // integration tests start real servers on free ports; two cores, so keep it modest
    maxWorkers: 2,
    reporters: ['default'],
  },
});
