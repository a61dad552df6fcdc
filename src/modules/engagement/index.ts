import type { LaurelModule, ModuleDeps } from '../../app.js';
import type { App } from '../../http/types.js';
import { checkinRoutes } from './checkin.routes.js';
import { EngagementService, type BenefitGranter } from './engagement.service.js';
import { invitationRoutes } from './invitations.routes.js';
import { medalRoutes } from './medals.routes.js';
import { taskRoutes } from './tasks.routes.js';

export { EngagementService } from './engagement.service.js';
export { SIGNALS } from './engagement.types.js';
export type { CheckIn, Calendar, CheckinSummary } from './checkin.service.js';
export type { Task, MemberTask } from './tasks.service.js';
export type { Medal, MemberMedal } from './medals.service.js';
export type { Invitation, InvitationSettings } from './invitations.service.js';

/** Engagement (issue 6): check-in, tasks, medals, invitations; progresses on the afterEvent hook. */
export function engagementModule(deps: ModuleDeps, extra: { benefits?: BenefitGranter } = {}): LaurelModule<EngagementService> {
  const { ledger, members, pointTypes } = deps.core;
  const service = new EngagementService({ db: deps.db, ledger, members, pointTypes, benefits: extra.benefits });
  deps.hooks.onAfterEvents('engagement', (trx, ctx, events) => service.afterEvents(trx, ctx, events));
  // Tier medals move when a member reaches a tier (upgrades only: a medal once won is kept).
  deps.hooks.onTierChanged('engagement', (trx, ctx, changes) =>
    service.tiersReached(
      trx,
      ctx,
      changes.flatMap((c) => (c.to && (!c.from || c.to.rank > c.from.rank) ? [{ memberId: c.memberId, tier: c.to }] : [])),
    ),
  );
  return {
    name: 'engagement',
    service,
    routes: (app: App) => {
      checkinRoutes(app, service.checkin);
      taskRoutes(app, service.tasks);
      medalRoutes(app, service.medals);
      invitationRoutes(app, service.invitations);
    },
  };
}
