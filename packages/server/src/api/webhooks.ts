import type { StudioParts } from '../parts.ts'
import type { Webhook } from '../webhooks/records.ts'
import type { UseCases } from './types.ts'

type WebhookCases = Pick<UseCases, 'createWebhook' | 'listWebhooks' | 'deleteWebhook' | 'listWebhookDeliveries'>

/** A subscription as the API shows it (it holds no secret). */
const webhookDto = (w: Webhook) => ({ ...w, events: [...w.events] })

/** Webhook subscriptions and their delivery log (admins); the signing secret is answered by `createWebhook` only. */
export function webhookUseCases({ webhooks }: Pick<StudioParts, 'webhooks'>): WebhookCases {
  return {
    createWebhook: async ({ body }, { principal }) => {
      const created = await webhooks.create({
        url: body.url,
        events: body.events,
        description: body.description,
        createdBy: principal.id,
      })
      return { webhook: webhookDto(created.webhook), secret: created.secret }
    },
    listWebhooks: async () => (await webhooks.list()).map(webhookDto),
    deleteWebhook: async ({ params }) => webhookDto(await webhooks.delete(params.id)),
    listWebhookDeliveries: async ({ params, query }) =>
      webhooks.deliveries(params.id, { status: query.status, limit: query.limit, cursor: query.cursor }),
  }
}
