import type { JobDefinition } from '../../jobs/job.js';
import { deliverDue, hasSubscribers, nextDelivery } from './webhooks.delivery.js';

/**
 * Delivery as a scheduled job. Live programs: swept every second by whichever process claims the
 * (job, program) row; the outbox rows themselves are claimed with a lease as well, so a second
 * process (or a manual run) never sends a row that is being sent. Sandbox programs: a clock
 * advance runs it at each instant a delivery is due, so retries follow the test clock.
 */
export function webhookJobs(): JobDefinition[] {
  return [
    {
      name: 'webhooks.deliver',
      order: 1000,
      everyMs: 1_000,
      nextDue: (db, program, after, until) => nextDelivery(db, program, after, until),
      run: async ({ db, program, asOf }) => {
        if (!(await hasSubscribers(db, program.id))) return { skipped: 'no subscriptions' };
        return { ...(await deliverDue(db, program, asOf)) };
      },
    },
  ];
}
