import type { LaurelModule, ModuleDeps } from '../../app.js';
import { EarningConfigService } from './config.service.js';
import { earningRoutes } from './earning.routes.js';
import { EventsService } from './events.service.js';
import { ReviewsService } from './reviews.service.js';
import { GrantsService } from './grants.service.js';

export { EarningConfigService, earningSettings } from './config.service.js';
export type { EarningSettings, EventType, StoredRule, RuleKind, RuleStatus } from './config.service.js';
export { EventsService } from './events.service.js';
export type { EventInput, EventResult } from './events.service.js';
export { ReviewsService } from './reviews.service.js';
export { GrantsService } from './grants.service.js';
export type { Grant, BulkCreditReport } from './grants.service.js';

export interface EarningService {
  config: EarningConfigService;
  events: EventsService;
  reviews: ReviewsService;
  grants: GrantsService;
}

/** Points in: event types, rules and campaigns, event ingestion, awards held for review. */
export function earningModule(deps: ModuleDeps): LaurelModule<EarningService> {
  const config = new EarningConfigService(deps.db, deps.core.pointTypes, deps.hooks);
  const events = new EventsService(deps.db, config, deps.core.ledger, deps.hooks);
  const reviews = new ReviewsService(deps.db, deps.core.ledger);
  const grants = new GrantsService(deps.db, deps.core.ledger, deps.core.pointTypes);
  const service = { config, events, reviews, grants };
  return { name: 'earning', service, jobs: [grants.job()], routes: (app) => earningRoutes(app, service) };
}
