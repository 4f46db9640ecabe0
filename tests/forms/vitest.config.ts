import { defineProject } from 'vitest/config'

// The source condition: the forms are generated from core's sources, so this suite runs without a build.
export default defineProject({
  resolve: { conditions: ['@sparkle-studio/source'] },
  ssr: { resolve: { conditions: ['@sparkle-studio/source'] } },
  test: { name: 'forms', include: ['test/**/*.test.ts'] },
})
