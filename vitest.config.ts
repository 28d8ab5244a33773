import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['functions/executor/polyfills.ts'],
    testTimeout: 20_000,
    // The end-to-end files run whole local scaling runs in beforeAll: seconds, more on a loaded machine.
    hookTimeout: 60_000,
  },
});
