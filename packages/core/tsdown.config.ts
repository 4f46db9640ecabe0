import { defineConfig } from 'tsdown'

export default defineConfig({
  entry: ['src/index.ts', 'src/routes/index.ts', 'src/contract/index.ts'],
  format: 'esm',
  platform: 'neutral',
  target: 'node22',
  dts: true,
  sourcemap: true,
  clean: true,
  fixedExtension: false,
})
