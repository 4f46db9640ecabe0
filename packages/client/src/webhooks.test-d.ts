// Type tests of the webhook routes: checked by `tsc -p tsconfig.test.json` (the typecheck step), not run.
import type { WebhookEventType } from '@sparkle-studio/core/routes'
import { expectTypeOf } from 'vitest'
import { createStudioClient } from './client.ts'

const client = createStudioClient({ baseUrl: 'http://localhost:3000' })

// The signing secret comes back once, from createWebhook.
expectTypeOf(client.createWebhook).toBeCallableWith({
  body: { url: 'https://hooks.example.com/sparkle', events: ['run.failed', 'backfill.completed'], description: 'ops' },
})
// @ts-expect-error an event type the API does not know
void client.createWebhook({ body: { url: 'https://hooks.example.com/sparkle', events: ['run.exploded'] } })
expectTypeOf(client.createWebhook).returns.resolves.toHaveProperty('secret').toEqualTypeOf<string>()
expectTypeOf(client.createWebhook)
  .returns.resolves.toHaveProperty('webhook')
  .toHaveProperty('events')
  .toEqualTypeOf<WebhookEventType[]>()
type Listed = Awaited<ReturnType<typeof client.listWebhooks>>[number]
expectTypeOf<Listed>().not.toHaveProperty('secret')
expectTypeOf<Listed['disabledAt']>().toEqualTypeOf<string | undefined>()
// @ts-expect-error deleting needs the subscription id
void client.deleteWebhook()
expectTypeOf(client.listWebhookDeliveries).toBeCallableWith({
  params: { id: 'wh_1' },
  query: { status: 'failed', limit: 20 },
})
type Delivery = Awaited<ReturnType<typeof client.listWebhookDeliveries>>['items'][number]
expectTypeOf<Delivery['status']>().toEqualTypeOf<'pending' | 'succeeded' | 'failed'>()
expectTypeOf<Delivery['lastStatusCode']>().toEqualTypeOf<number | undefined>()
expectTypeOf<Delivery['attempts']>().toEqualTypeOf<number>()
