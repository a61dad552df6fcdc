/** The condition builder's model: groups (all / any) of field-op-value rows, turned into the rules engine's JSON. */
export type Op = 'eq' | 'ne' | 'in' | 'notIn' | 'gt' | 'gte' | 'lt' | 'lte' | 'between' | 'exists' | 'notExists' | 'contains' | 'containsAny' | 'containsAll';
export const OPS: Op[] = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'between', 'in', 'notIn', 'contains', 'containsAny', 'containsAll', 'exists', 'notExists'];
export const LIST_OPS = new Set<Op>(['in', 'notIn', 'between', 'containsAny', 'containsAll']);
export const NO_VALUE_OPS = new Set<Op>(['exists', 'notExists']);

export interface Leaf {
  kind: 'leaf';
  id: string;
  field: string;
  op: Op;
  value: string;
}
export interface Group {
  kind: 'group';
  id: string;
  mode: 'all' | 'any';
  children: Array<Leaf | Group>;
}

let seq = 0;
export const nextId = () => `n${++seq}`;
export const newLeaf = (field = 'event.attributes.amount'): Leaf => ({ kind: 'leaf', id: nextId(), field, op: 'gte', value: '' });
export const newGroup = (mode: 'all' | 'any' = 'all'): Group => ({ kind: 'group', id: nextId(), mode, children: [] });

/** "100" → 100, "true" → true, anything else stays text. */
export function scalar(text: string): unknown {
  const s = text.trim();
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  if (s === 'true' || s === 'false') return s === 'true';
  return s;
}

export function toCondition(node: Leaf | Group): unknown {
  if (node.kind === 'leaf') {
    if (NO_VALUE_OPS.has(node.op)) return { field: node.field, op: node.op };
    const value = LIST_OPS.has(node.op) ? node.value.split(',').filter((x) => x.trim() !== '').map(scalar) : scalar(node.value);
    return { field: node.field, op: node.op, value };
  }
  return { [node.mode]: node.children.map(toCondition) };
}

/** The root group as a rule's `condition`, or undefined when it has no rows. */
export function rootCondition(root: Group): unknown {
  return root.children.length === 0 ? undefined : toCondition(root);
}

export function update(root: Group, id: string, change: (node: Leaf | Group) => Leaf | Group | null): Group {
  const walk = (node: Leaf | Group): Leaf | Group | null => {
    if (node.id === id) return change(node);
    if (node.kind === 'leaf') return node;
    return { ...node, children: node.children.map(walk).filter((x): x is Leaf | Group => x !== null) };
  };
  return walk(root) as Group;
}
