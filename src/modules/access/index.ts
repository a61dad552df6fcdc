export { AccessService, SCOPES, hasScope } from './access.service.js';
export type { ApiKey, Principal, Scope } from './access.service.js';
