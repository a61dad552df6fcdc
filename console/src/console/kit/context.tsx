import { useMutation, useQuery, useQueryClient, type QueryKey } from '@tanstack/react-query';
import { App } from 'antd';
import { createContext, useContext } from 'react';
import { ApiError } from '../../shared/api.js';
import { useI18n, type MessageKey } from '../../shared/i18n.js';
import { api, type Program, type Session } from '../client.js';

type Role = Session['operator']['role'];
/** What a write needs: `configure` (operators and admins) or `admin` (API keys, audit log). */
export type Scope = 'configure' | 'admin';

interface ConsoleScope {
  program: Program;
  role: Role;
}

const Context = createContext<ConsoleScope | null>(null);
export const ConsoleScopeProvider = Context.Provider;

function useScope(): ConsoleScope {
  const scope = useContext(Context);
  if (!scope) throw new Error('a console screen outside ConsoleScopeProvider');
  return scope;
}

/** The API path of the current program. */
export function useBase(): string {
  return `/v1/programs/${useScope().program.id}`;
}

export function useProgram(): Program {
  return useScope().program;
}

/** Mirrors the API's role → scopes map, so the console hides what the API would refuse anyway. */
export function useCan(scope: Scope = 'configure'): boolean {
  const { role } = useScope();
  return role === 'admin' || (scope === 'configure' && role === 'operator');
}

/** A read of the current program: keyed by its path, so every screen shares the cache. */
export function useProgramQuery<T>(path: string, options: { enabled?: boolean } = {}) {
  const base = useBase();
  return useQuery({ queryKey: ['program', base, path], queryFn: () => api<T>('GET', `${base}${path}`), enabled: options.enabled ?? true });
}

/** The data of a list endpoint (`{ data: [...] }`), empty while it loads. */
export function useList<T>(path: string): T[] {
  return useProgramQuery<{ data: T[] }>(path).data?.data ?? [];
}

export function useErrorText(): (err: unknown) => string {
  const { t } = useI18n();
  return (err) => {
    if (err instanceof ApiError) {
      if (err.status === 403) return t('forbidden');
      const details = err.details ? ` ${JSON.stringify(err.details)}` : '';
      return `${err.code}: ${err.message}${details}`;
    }
    return err instanceof Error ? err.message : String(err);
  };
}

/** A write to the API: says it worked or why not, and refreshes what it changed (by default every read of the program). */
export function useWrite<V, R = unknown>(fn: (vars: V, base: string) => Promise<R>, options: { success?: MessageKey; invalidate?: QueryKey; onSuccess?(result: R, vars: V): void } = {}) {
  const base = useBase();
  const client = useQueryClient();
  const { message } = App.useApp();
  const { t } = useI18n();
  const errorText = useErrorText();
  return useMutation({
    mutationFn: (vars: V) => fn(vars, base),
    onSuccess: (result, vars) => {
      message.success(t(options.success ?? 'saved'));
      void client.invalidateQueries({ queryKey: options.invalidate ?? ['program', base] });
      options.onSuccess?.(result, vars);
    },
    onError: (err) => message.error(errorText(err)),
  });
}
