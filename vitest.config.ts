import { defineConfig } from 'vitest/config';

// The suite is the TypeScript under test/ and examples/: compiled copies (dist/, a build of the tests elsewhere) would
// run twice, from paths their fixtures are not relative to.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
  },
});
