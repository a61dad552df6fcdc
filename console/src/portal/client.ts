import { useQueryClient } from '@tanstack/react-query';
import { makeApi } from '../shared/api.js';

/**
 * The member portal, mobile first. A member arrives with `#token=<portal token>` (issued by the
 * host platform through POST /v1/programs/{id}/members/{memberId}/portal-tokens); the token is
 * kept for the tab's session only and sent as a bearer token to the /v1/portal/me routes.
 */
function initialToken(): string | null {
  const match = /token=([^&]+)/.exec(window.location.hash);
  if (match) {
    sessionStorage.setItem('laurel.portal', decodeURIComponent(match[1]!));
    history.replaceState(null, '', window.location.pathname);
  }
  return sessionStorage.getItem('laurel.portal');
}

/**
 * The channel whose page (banners, item order) the portal shows: `#token=…&channel=app` from the
 * host, kept for the tab's session like the token; the portal is the web channel otherwise.
 */
function initialChannel(): string {
  const match = /channel=([a-z][a-z0-9_]*)/.exec(window.location.hash);
  if (match) sessionStorage.setItem('laurel.portal.channel', match[1]!);
  return sessionStorage.getItem('laurel.portal.channel') ?? 'web';
}

export const channel = initialChannel();
let token: string | null = initialToken();
export const api = makeApi((): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {}));

export function getToken(): string | null {
  return token;
}

export function setToken(next: string | null): void {
  token = next;
  if (next) sessionStorage.setItem('laurel.portal', next);
  else sessionStorage.removeItem('laurel.portal');
}

/** After a write: everything a member's action can change. */
export function useRefresh(): () => void {
  const client = useQueryClient();
  return () => {
    for (const key of ['balances', 'ledger', 'checkins', 'orders', 'items', 'tier', 'tasks', 'medals']) void client.invalidateQueries({ queryKey: [key] });
  };
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
