import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['functions/executor/polyfills.ts'],
    testTimeout: 20_000,
  },
});
