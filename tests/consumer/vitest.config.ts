import { defineProject } from 'vitest/config'

// No source condition: these tests load the packed packages from a project outside the workspace.
export default defineProject({
  test: {
    name: 'consumer',
    include: ['test/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
})
