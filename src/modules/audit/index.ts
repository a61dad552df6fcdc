import type { LaurelModule, ModuleDeps } from '../../app.js';
import { auditRoutes } from './audit.routes.js';
import { AuditService } from './audit.service.js';

export { AuditService } from './audit.service.js';
export type { AuditEntry, AuditFilter } from './audit.service.js';

/** The audit log (written through `recordAudit` in core/hooks by the modules that change configuration). */
export function auditModule(deps: ModuleDeps): LaurelModule<AuditService> {
  const service = new AuditService(deps.db);
  return { name: 'audit', service, routes: (app) => auditRoutes(app, service) };
}
