import type { LaurelModule, ModuleDeps } from '../../app.js';
import type { App } from '../../http/types.js';
import { TierConfigService } from './tiers.config.js';
import { tierJobs } from './tiers.jobs.js';
import { announceChanges, tierNoticeJob } from './tiers.notices.js';
import { tierRoutes } from './tiers.routes.js';
import { TiersService } from './tiers.service.js';

export { TiersService } from './tiers.service.js';
export { TierConfigService } from './tiers.config.js';
export type { Contribution, MemberTierView, TierHistoryEntry, TierRef } from './tiers.service.js';
export type { Ladder, LadderConfigInput, Tier, Condition, Window, MetricDef } from './tiers.model.js';
export type { TierTables } from './tiers.tables.js';

/**
 * Tiers (issue 5): ladders, qualification from metrics, real-time upgrades on the afterEvent hook,
 * scheduled evaluation and expiry jobs, bought and manual tiers, lifetime status, history.
 * Tells the earning rules `member.tier`, and announces every change on the tierChanged hook.
 */
export function tiersModule(deps: ModuleDeps): LaurelModule<TiersService> {
  const { ledger, members, pointTypes } = deps.core;
  const config = new TierConfigService(deps.db, pointTypes);
  const service = new TiersService(deps.db, config, ledger, members, deps.hooks, deps.sweepWalkers);
  deps.hooks.onAfterEvents('tiers', (trx, ctx, events) => service.afterEvents(trx, ctx, events));
  // One event's award: its metrics and upgrade go inside the event's own statement.
  deps.hooks.onEventStatement('tiers', (trx, ctx, event, first) => service.eventStatementPart(trx, ctx, event, first));
  deps.hooks.onMemberFacts('tiers', (exec, ctx, ids) => service.memberFacts(exec, ctx, ids));
  // tier.changed webhooks, in the transaction of the change.
  deps.hooks.onTierChanged('tiers', (trx, ctx, changes) => announceChanges(trx, ctx, changes));
  return {
    name: 'tiers',
    service,
    jobs: [...tierJobs(service), tierNoticeJob(config)],
    routes: (app: App) => tierRoutes(app, service),
  };
}
// The pure ladder rules, for callers that evaluate a ladder in memory (what-if replays).
export { validateLadder, baseRankOf, qualifiedRank, holds, leafKey, measuresOf, retentionOf, validityEnd, nextEvaluation, referenceDate, windowRange } from './tiers.model.js';
export type { MetricSource, LadderPolicy, TierDef, Measure } from './tiers.model.js';
export { entryLeaves } from './tiers.sql.js';
