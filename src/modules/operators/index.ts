export { OperatorsService, ROLES, ROLE_SCOPES, hashPassword, verifyPassword } from './operators.service.js';
export type { Operator, OperatorSession, PortalClaims, Role } from './operators.service.js';
export { operatorRoutes } from './operators.routes.js';
export { portalRoutes, type PortalDeps } from './portal.routes.js';
