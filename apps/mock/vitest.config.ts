import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Loading Prism's libraries takes 2-4 s alone, and several times that while other workspaces'
    // tests share the 2 cores; the tests that start `npm run mock` as a process pay it again.
    hookTimeout: 60_000,
    testTimeout: 60_000,
  },
});
