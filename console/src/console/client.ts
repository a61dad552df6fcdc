import { makeApi } from '../shared/api.js';

/** The console talks to the API with its session cookie; writes carry the session's CSRF token. */
let csrfToken: string | null = null;
export function setCsrf(token: string | null): void {
  csrfToken = token;
}
export const api = makeApi((): Record<string, string> => (csrfToken ? { 'x-csrf-token': csrfToken } : {}));

export interface Session {
  operator: { id: string; username: string; displayName: string | null; role: 'admin' | 'operator' | 'viewer' };
  csrfToken: string;
  expiresAt: string;
}
export interface Program { id: string; name: string; mode: string; timeZone: string; currency: string }
export interface Member { id: string; externalId: string; name: string | null; status: string; phone: string | null; email: string | null; tags: string[]; joinedAt: string; birthday: string | null; region: string | null }
export interface Balance { pointType: string; kind: string; decimals: number; available: number; pending: number; reserved: number; lifetimeEarned: number; expiring: Array<{ expiresAt: string; amount: number }> }
export interface Rule { id: string; name: string; status: string; version: number; definition: Record<string, any>; updatedAt: string }
export interface PointType { code: string; name: string; kind: string; decimals: number }
export interface Page<T> { data: T[]; nextCursor: string | null }

/** Hash routes: #/dashboard, #/members, #/members/<id>, #/rules, #/rules/new */
export function navigate(path: string): void {
  window.location.hash = `#${path}`;
}
