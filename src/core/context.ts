import type { Clock } from './clock.js';

/** Who is acting: recorded on ledger entries, audit records and manual adjustments. */
export type Actor =
  | { type: 'admin' }
  | { type: 'api_key'; id: string }
  | { type: 'operator'; id: string }
  | { type: 'system'; job: string };

export function actorLabel(actor: Actor): string {
  switch (actor.type) {
    case 'admin':
      return 'admin';
    case 'api_key':
      return `api_key:${actor.id}`;
    case 'operator':
      return `operator:${actor.id}`;
    case 'system':
      return `system:${actor.job}`;
  }
}

export interface ProgramSnapshot {
  id: string;
  mode: 'live' | 'sandbox';
  timeZone: string;
  currency: string;
  settings: Record<string, unknown>;
}

/** What a program-scoped service call knows: the program, its clock, and who asks. */
export interface ProgramContext {
  program: ProgramSnapshot;
  clock: Clock;
  actor: Actor;
  /** where the request comes from (the `Laurel-Channel` header, `portal`…): recorded on ledger transactions for settlement */
  channel?: string | null | undefined;
}

/** The API client a ledger transaction is attributed to (partner settlement): the key that asked, if any. */
export function apiKeyOf(actor: Actor): string | null {
  return actor.type === 'api_key' ? actor.id : null;
}
