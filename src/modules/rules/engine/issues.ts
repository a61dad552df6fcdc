import { AppError } from '../../../core/errors.js';

/** One thing wrong with a rule, campaign or event type, pointed at by a dotted path. */
export interface Issue {
  path: string;
  message: string;
}

/**
 * Validation collects every issue instead of stopping at the first, so the console can mark
 * all bad fields of a rule in one round trip; the thrown error still leads with the first.
 */
export class Issues {
  readonly list: Issue[] = [];

  add(path: string, message: string): void {
    this.list.push({ path, message });
  }

  get ok(): boolean {
    return this.list.length === 0;
  }

  throwIfAny(what: string): void {
    if (this.list.length === 0) return;
    const first = this.list[0]!;
    throw new AppError('rule_invalid', `${what}: ${first.path}: ${first.message}`, {
      path: first.path,
      issues: this.list,
    });
  }
}

/** `a.b[2].c` style paths; keys that are not identifiers are quoted so the path stays unambiguous. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  const safe = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? key : JSON.stringify(key);
  if (parent === '') return safe;
  return /^[A-Za-z_$]/.test(safe) ? `${parent}.${safe}` : `${parent}[${safe}]`;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
