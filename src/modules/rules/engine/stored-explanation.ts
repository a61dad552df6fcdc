import { ANY_FAILED, isLeafFailureMessage, leafFailureMessage, leafMessageTexts, NOT_FAILED, type ConditionFailure } from './conditions.js';
import type { Explanation, RuleTrace } from './explanation.js';
import { isPlainObject } from './issues.js';

/**
 * Explanations as stored with each event. Most rules a purchase meets do not match it (twelve
 * category rules, a weekday bonus…), and of such a rule most of its trace repeats what its
 * version says: name, priority, stacking, the failing node's field, op and value, and messages
 * built from them. Stored, such a trace keeps only what this event decided — which node failed
 * and the value it read — and the rest is put back on read from the rule version, which never
 * changes. The earning benchmark's purchases (twenty rules) store 3.4 KB each on average instead of 6.6.
 *
 * A trace is compacted only when putting it back gives it exactly (checked as it is compacted);
 * any other trace is stored whole.
 */

/** What a compacted trace keeps: no `name` (that is how a reader tells it apart). */
export interface CompactRuleTrace {
  ruleId: string;
  version: number;
  outcome: 'notMatched';
  failed: CompactFailure;
}

/** A failed node: its path; for a leaf, the value read (`actual` absent: the field was absent). */
export interface CompactFailure {
  path: string;
  op?: 'any' | 'not';
  actual?: unknown;
  alternatives?: CompactFailure[];
}

/** What putting a trace back needs of its rule version. */
export interface RuleVersionFacts {
  name: string;
  priority: number;
  stacking: 'exclusive' | 'cumulative';
  condition?: unknown;
}

export type StoredExplanation = Omit<Explanation, 'rules'> & { rules: Array<RuleTrace | CompactRuleTrace> };

/**
 * The rules and campaigns that listen to the event's type, with those that listen to other types
 * counted, not listed: they say nothing about this event. What results and previews show.
 */
export function withoutOtherEventTypes(e: Explanation): Explanation {
  const rules = e.rules.filter((r) => r.outcome !== 'wrongEventType');
  const campaigns = e.campaigns.filter((c) => c.outcome !== 'wrongEventType');
  if (rules.length === e.rules.length && campaigns.length === e.campaigns.length) return e;
  return { ...e, rules, campaigns, otherEventTypes: { rules: e.rules.length - rules.length, campaigns: e.campaigns.length - campaigns.length } } as Explanation;
}

/** The explanation to store: `conditionOf` gives the condition of a rule of the version evaluated. */
export function toStoredExplanation(e: Explanation, conditionOf: (ruleId: string) => unknown): StoredExplanation {
  const rules = e.rules.map((r): RuleTrace | CompactRuleTrace => {
    if (r.outcome !== 'notMatched' || !r.failed || r.reason !== r.failed.message) return r;
    const failed = compactFailure(r.failed, conditionOf(r.ruleId));
    return failed ? { ruleId: r.ruleId, version: r.version, outcome: 'notMatched', failed } : r;
  });
  return { ...e, rules };
}

/** The rule versions a stored explanation needs to be read back whole. */
export function compactedRuleVersions(e: StoredExplanation): Array<{ ruleId: string; version: number }> {
  return e.rules.filter(isCompact).map((r) => ({ ruleId: r.ruleId, version: r.version }));
}

/** A stored explanation read back whole; a rule version `facts` does not know leaves its trace compact. */
export function fromStoredExplanation(e: StoredExplanation, facts: (ruleId: string, version: number) => RuleVersionFacts | undefined): Explanation {
  if (!e.rules.some(isCompact)) return e as Explanation;
  const rules = e.rules.map((r) => {
    if (!isCompact(r)) return r;
    const f = facts(r.ruleId, r.version);
    const failed = f && expandFailure(r.failed, f.condition);
    if (!f || !failed) return r as unknown as RuleTrace;
    return { ruleId: r.ruleId, version: r.version, name: f.name, priority: f.priority, stacking: f.stacking, outcome: 'notMatched', reason: failed.message, failed } as RuleTrace;
  });
  return { ...e, rules } as Explanation;
}

function isCompact(r: RuleTrace | CompactRuleTrace): r is CompactRuleTrace {
  return !('name' in r);
}

function compactFailure(f: ConditionFailure, condition: unknown): CompactFailure | null {
  const node = nodeAt(condition, f.path);
  if (!isPlainObject(node) || !hasFailureShape(f)) return null;
  // Kept only if reading it back gives the very same failure: what expandFailure would build is
  // checked field by field here, without building it (this runs for each rule an event does not
  // match, a dozen per purchase, a thousand purchases per batch).
  if (f.op === 'any' && f.field === undefined) {
    const alternatives: CompactFailure[] = [];
    for (const a of f.alternatives ?? []) {
      const c = compactFailure(a, condition);
      if (!c) return null;
      alternatives.push(c);
    }
    const same = f.alternatives !== undefined && f.expected === undefined && f.actual === undefined && f.message === ANY_FAILED(alternatives.length);
    return same ? { path: f.path, op: 'any', alternatives } : null;
  }
  if (f.op === 'not' && f.field === undefined) {
    const same = f.expected === undefined && f.actual === undefined && f.message === NOT_FAILED && f.alternatives === undefined;
    return same ? { path: f.path, op: 'not' } : null;
  }
  if (typeof node.field !== 'string' || typeof node.op !== 'string') return null;
  if (f.field !== node.field || f.op !== node.op || f.alternatives !== undefined || !sameJson(f.expected ?? null, node.value ?? null) || (f.expected === undefined) !== (node.value === undefined)) return null;
  const texts = leafTexts(node as LeafNode);
  // A null read back is an absent field when the message says so, else a null that was read.
  if (f.actual === null && isLeafFailureMessage(f.message, texts, undefined)) return { path: f.path };
  if (f.actual === undefined || !isLeafFailureMessage(f.message, texts, f.actual)) return null;
  return { path: f.path, actual: f.actual };
}

type LeafNode = { field: string; op: string; value?: unknown };

/** A condition leaf's fixed message texts, kept with the leaf (a rule version's, which never changes). */
const leafTextsOf = new WeakMap<LeafNode, { head: string; tail: string }>();

function leafTexts(node: LeafNode): { head: string; tail: string } {
  let texts = leafTextsOf.get(node);
  if (!texts) leafTextsOf.set(node, (texts = leafMessageTexts(node.field, node.op, node.value)));
  return texts;
}

/** The keys of a failure as the evaluator writes them, in its order: what expandFailure writes back. */
const FAILURE_KEYS = ['path', 'field', 'op', 'expected', 'actual', 'message', 'alternatives'];

function hasFailureShape(f: ConditionFailure): boolean {
  let i = 0;
  for (const key in f) if (key !== FAILURE_KEYS[i++]) return false;
  return i === FAILURE_KEYS.length;
}

function isPlainData(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Whether two values serialise to the same JSON, without serialising them (this runs for each
 * rule an event does not match). Never true where JSON.stringify would differ: objects must list
 * the same keys in the same order (keys whose value is undefined are left out, as JSON leaves
 * them out), and anything but plain data is equal only to itself.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i] ?? null, b[i] ?? null)) return false;
    return true;
  }
  if (!isPlainData(a) || !isPlainData(b)) return false;
  const ka = Object.keys(a).filter((k) => a[k] !== undefined);
  const kb = Object.keys(b).filter((k) => b[k] !== undefined);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i] || !sameJson(a[ka[i]!], b[kb[i]!])) return false;
  return true;
}

function expandFailure(c: CompactFailure, condition: unknown): ConditionFailure | null {
  const node = nodeAt(condition, c.path);
  if (!isPlainObject(node)) return null;
  if (c.op === 'any') {
    const alternatives: ConditionFailure[] = [];
    for (const a of c.alternatives ?? []) {
      const x = expandFailure(a, condition);
      if (!x) return null;
      alternatives.push(x);
    }
    return { path: c.path, field: undefined, op: 'any', expected: undefined, actual: undefined, message: ANY_FAILED(alternatives.length), alternatives };
  }
  if (c.op === 'not') return { path: c.path, field: undefined, op: 'not', expected: undefined, actual: undefined, message: NOT_FAILED, alternatives: undefined };
  if (typeof node.field !== 'string' || typeof node.op !== 'string') return null;
  const actual = 'actual' in c ? c.actual : undefined;
  const message = leafFailureMessage(node.field, node.op, node.value, actual);
  return { path: c.path, field: node.field, op: node.op, expected: node.value, actual: actual === undefined ? null : actual, message, alternatives: undefined };
}

/** The node of a rule's condition at a failure's path: `condition`, `condition.all[1]`, `condition.any[0].not`… */
function nodeAt(condition: unknown, path: string): unknown {
  const steps = pathSteps(path);
  if (steps === null) return undefined;
  let node: unknown = condition;
  for (const step of steps) {
    if (typeof step === 'string') node = isPlainObject(node) ? node[step] : undefined;
    else node = Array.isArray(node) ? node[step] : undefined;
    if (node === undefined) return undefined;
  }
  return node;
}

/** A path's steps (a key, or an index), parsed once per distinct path; null: not a condition path. */
const parsedPaths = new Map<string, Array<string | number> | null>();

function pathSteps(path: string): Array<string | number> | null {
  let steps = parsedPaths.get(path);
  if (steps !== undefined) return steps;
  steps = [];
  if (!path.startsWith('condition')) steps = null;
  else {
    for (const [, key, index, junk] of path.slice('condition'.length).matchAll(/\.([A-Za-z_$][\w$]*)|\[(\d+)\]|(.)/g)) {
      if (junk !== undefined) {
        steps = null;
        break;
      }
      steps.push(key !== undefined ? key : Number(index));
    }
  }
  // Paths come from rule conditions (bounded in size and depth): a handful per program.
  if (parsedPaths.size > 10_000) parsedPaths.clear();
  parsedPaths.set(path, steps);
  return steps;
}
