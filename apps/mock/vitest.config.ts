import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Prism takes 2-4 s to start alone, more while other workspaces' tests share the 2 cores.
    // Above startMock's own 30 s limit, so a slow start fails with Prism's output, not a bare timeout.
    hookTimeout: 60_000,
    testTimeout: 60_000,
  },
});
