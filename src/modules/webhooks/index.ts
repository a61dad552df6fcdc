import type { LaurelModule, ModuleDeps } from '../../app.js';
import { webhookJobs } from './webhooks.jobs.js';
import { webhookRoutes } from './webhooks.routes.js';
import { WebhooksService } from './webhooks.service.js';

export { WebhooksService, MESSAGE_TYPES } from './webhooks.service.js';
export type { Subscription, Delivery, Attempt } from './webhooks.service.js';
export { deliverDue, sign, envelope, backoffMs } from './webhooks.delivery.js';

/** Webhooks: subscriptions, the outbox other modules write to (`emitMessage`), signed delivery with retries. */
export function webhooksModule(deps: ModuleDeps): LaurelModule<WebhooksService> {
  const service = new WebhooksService(deps.db);
  return { name: 'webhooks', service, jobs: webhookJobs(), routes: (app) => webhookRoutes(app, service) };
}
