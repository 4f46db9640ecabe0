export type { MaskMethod } from './mask-expression.ts'
export { MASK_METHODS, maskExpression, REDACTED } from './mask-expression.ts'
export { maskPii, maskPiiV1 } from './mask-pii.ts'
export { createStudioRegistry, customComponents } from './registry.ts'
