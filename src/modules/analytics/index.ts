import type { LaurelModule, ModuleDeps } from '../../app.js';
import { analyticsRoutes } from './analytics.routes.js';
import { AnalyticsService, type LadderSource } from './analytics.service.js';

export { AnalyticsService, REPORTS, toCsv } from './analytics.service.js';
export type { Report, ReportName, ReportRequest, GroupBy, LadderSource } from './analytics.service.js';

/** Reports over the ledger and domain tables (read-only; it owns no tables, only indexes in migration 0007). */
export function analyticsModule(deps: ModuleDeps, sources: { ladderOf?: LadderSource } = {}): LaurelModule<AnalyticsService> {
  const service = new AnalyticsService(deps.db, sources.ladderOf);
  return { name: 'analytics', service, routes: (app) => analyticsRoutes(app, service) };
}
