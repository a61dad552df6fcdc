export { CharityService } from './charity.service.js';
export type { Cause, Donation } from './charity.service.js';
