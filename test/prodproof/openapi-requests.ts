import fc from 'fast-check';

/**
 * Requests generated from the served OpenAPI document: for every operation, values that follow
 * its schemas (with their boundaries), and malformed variants of them. Shared by the bad-input
 * and the SQL-injection suites.
 */
type Schema = Record<string, any>;

export interface Operation {
  method: string;
  /** OpenAPI form: /v1/programs/{programId}/… */
  path: string;
  params: Array<{ name: string; in: 'path' | 'query' | 'header'; required: boolean; schema: Schema }>;
  body: Schema | null;
  bodyRequired: boolean;
  /** the body media type when it is not JSON (CSV uploads) */
  bodyType: string;
}

export interface GeneratedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string;
  /** what the generator meant: valid, boundary, or which malformation */
  kind: string;
}

export function operationsOf(doc: Schema): Operation[] {
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries<Schema>(doc.paths)) {
    for (const [method, op] of Object.entries<Schema>(methods)) {
      const content = op.requestBody?.content ?? {};
      const bodyType = Object.keys(content)[0] ?? 'application/json';
      ops.push({
        method: method.toUpperCase(),
        path,
        params: (op.parameters ?? []).map((p: Schema) => ({ name: p.name, in: p.in, required: !!p.required, schema: p.schema ?? {} })),
        body: content[bodyType]?.schema ?? null,
        bodyRequired: !!op.requestBody?.required,
        bodyType,
      });
    }
  }
  return ops;
}

/** Follow $ref into components.schemas. */
export function resolver(doc: Schema): (s: Schema) => Schema {
  const resolve = (s: Schema): Schema => {
    if (s && typeof s.$ref === 'string') {
      const name = s.$ref.split('/').pop()!;
      return resolve(doc.components?.schemas?.[name] ?? {});
    }
    return s ?? {};
  };
  return resolve;
}

const LONG = 'x'.repeat(5_000);

/** A value of the schema (valid as far as the schema says), boundaries included. */
export function arbitraryOf(schema: Schema, resolve: (s: Schema) => Schema, depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(schema);
  if (depth > 6) return fc.constant(null);
  if ('const' in s) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...s.enum);
  const alternatives = s.anyOf ?? s.oneOf;
  if (Array.isArray(alternatives)) return fc.oneof(...alternatives.map((a: Schema) => arbitraryOf(a, resolve, depth + 1)));
  if (Array.isArray(s.allOf) && s.allOf.length) return arbitraryOf(s.allOf[0], resolve, depth + 1);
  const type = Array.isArray(s.type) ? s.type : s.type ? [s.type] : null;
  if (type && type.length > 1) return fc.oneof(...type.map((t: string) => arbitraryOf({ ...s, type: t }, resolve, depth + 1)));
  switch (type?.[0]) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer': {
      const min = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : -1_000_000);
      const max = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - 1 : 1_000_000);
      const lo = Math.max(min, Number.MIN_SAFE_INTEGER);
      const hi = Math.min(max, Number.MAX_SAFE_INTEGER);
      return fc.oneof(fc.constantFrom(lo, hi), fc.integer({ min: Math.max(lo, -1e9), max: Math.min(hi, 1e9) }));
    }
    case 'number':
      return fc.double({ min: s.minimum ?? -1e9, max: s.maximum ?? 1e9, noNaN: true, noDefaultInfinity: true });
    case 'string':
      return stringOf(s);
    case 'array': {
      const maxLength = Math.min(s.maxItems ?? 3, 3);
      const minLength = Math.min(s.minItems ?? 0, maxLength);
      return fc.array(arbitraryOf(s.items ?? {}, resolve, depth + 1), { minLength, maxLength });
    }
    case 'object':
      return objectOf(s, resolve, depth);
    default:
      if (s.properties) return objectOf(s, resolve, depth);
      return fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.boolean(), fc.constant(null));
  }
}

function stringOf(s: Schema): fc.Arbitrary<string> {
  if (s.format === 'date-time') return fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
  if (s.format === 'date') return fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
  if (s.format === 'uri') return fc.constantFrom('https://example.com/hook', 'http://127.0.0.1:9/x');
  if (s.format === 'email') return fc.constant('someone@example.com');
  const minLength = s.minLength ?? 0;
  const maxLength = Math.min(s.maxLength ?? 40, 5_000);
  if (s.pattern) {
    try {
      return fc.stringMatching(new RegExp(s.pattern)).filter((v) => v.length >= minLength && v.length <= maxLength);
    } catch {
      // a pattern JavaScript cannot compile: fall through to plain strings
    }
  }
  return fc.oneof(
    fc.string({ minLength, maxLength: Math.min(maxLength, 40) }),
    fc.constant('x'.repeat(Math.max(minLength, 1))).filter((v) => v.length <= maxLength),
    fc.constant('y'.repeat(maxLength)).filter((v) => v.length >= minLength),
  );
}

function objectOf(s: Schema, resolve: (s: Schema) => Schema, depth: number): fc.Arbitrary<unknown> {
  const props: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [k, v] of Object.entries<Schema>(s.properties ?? {})) props[k] = arbitraryOf(v, resolve, depth + 1);
  const record = fc.record(props, { requiredKeys: (s.required ?? []).filter((k: string) => k in props) });
  if (s.additionalProperties && typeof s.additionalProperties === 'object' && !s.properties) {
    return fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), arbitraryOf(s.additionalProperties, resolve, depth + 1), { maxKeys: 3 });
  }
  return record;
}

/** One way of breaking a valid body. */
function breakBody(body: unknown, n: number): { payload: string; kind: string } {
  const wrongs: unknown[] = [null, 12345, -1, 1e300, 'text', true, [], {}, LONG, { $gt: '' }];
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { payload: JSON.stringify(wrongs[n % wrongs.length]), kind: 'body of the wrong type' };
  }
  const obj = { ...(body as Record<string, unknown>) };
  const keys = Object.keys(obj);
  switch (n % 6) {
    case 0:
      if (keys.length) {
        delete obj[keys[n % keys.length]!];
        return { payload: JSON.stringify(obj), kind: 'field missing' };
      }
      return { payload: '[]', kind: 'array instead of object' };
    case 1:
      return { payload: JSON.stringify({ ...obj, unexpectedField: 1 }), kind: 'unknown field' };
    case 2:
      if (keys.length) return { payload: JSON.stringify({ ...obj, [keys[n % keys.length]!]: wrongs[n % wrongs.length] }), kind: 'field of the wrong type or size' };
      return { payload: JSON.stringify({ x: LONG }), kind: 'unknown long field' };
    case 3:
      return { payload: JSON.stringify(obj).slice(0, Math.max(1, Math.floor(JSON.stringify(obj).length / 2))), kind: 'truncated JSON' };
    case 4:
      return { payload: `{"a":${'['.repeat(500)}${']'.repeat(500)}}`, kind: 'deeply nested' };
    default:
      return { payload: JSON.stringify(wrongs[n % wrongs.length]), kind: 'body of the wrong type' };
  }
}

const BAD_PATH_VALUES = ['does-not-exist', "' or 1=1 --", '%00', 'ext:', 'ext:%20', '..%2F..%2Fetc', 'Ω≈ç√', 'a'.repeat(400), '-1', '9'.repeat(30)];
const BAD_QUERY_VALUES = ['-1', '0', '1e309', 'abc', '%00', '9'.repeat(40), '', "') or ('1'='1", 'null', '[]'];

export interface GenerationContext {
  /** real values for path parameters by name (ids that exist), tried beside made-up ones */
  pathValues: Record<string, string[]>;
  auth: Record<string, string>;
  seed: number;
}

function fillPath(path: string, values: (name: string) => string): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(values(name)));
}

/**
 * `valid` requests with schema-conforming parts (real ids where the context has them) and
 * `malformed` requests breaking one part at a time: body, path parameter, query, header.
 */
export function requestsFor(op: Operation, resolve: (s: Schema) => Schema, ctx: GenerationContext, valid: number, malformed: number): GeneratedRequest[] {
  const out: GeneratedRequest[] = [];
  const sample = <T>(arb: fc.Arbitrary<T>, n: number, salt: number): T[] => fc.sample(arb, { numRuns: n, seed: ctx.seed + salt });
  const real = (name: string, i: number) => {
    const list = ctx.pathValues[name];
    return list?.length ? list[i % list.length]! : `missing-${name}`;
  };
  const query = op.params.filter((p) => p.in === 'query');
  const queryArb = fc.record(Object.fromEntries(query.map((p) => [p.name, arbitraryOf(p.schema, resolve)])), {
    requiredKeys: query.filter((p) => p.required).map((p) => p.name),
  });
  const bodies = op.body && op.bodyType === 'application/json' ? sample(arbitraryOf(op.body, resolve), valid + malformed, 1) : [];
  const queries = sample(queryArb, valid + malformed, 2);
  const needsKey = op.params.some((p) => p.in === 'header' && p.name === 'idempotency-key') || op.method !== 'GET';
  const qs = (q: Record<string, unknown>) => {
    const parts = Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${encodeURIComponent(typeof v === 'string' ? v : JSON.stringify(v))}`);
    return parts.length ? `?${parts.join('&')}` : '';
  };
  const headers = (i: number): Record<string, string> => ({ ...ctx.auth, ...(needsKey ? { 'idempotency-key': `fuzz-${ctx.seed}-${op.method}-${op.path}-${i}`.slice(0, 255) } : {}) });
  const jsonHeaders = (i: number) => ({ ...headers(i), 'content-type': 'application/json' });
  const csv = op.bodyType === 'text/csv';

  for (let i = 0; i < valid; i++) {
    const url = fillPath(op.path, (n) => real(n, i)) + qs(queries[i] as Record<string, unknown>);
    const payload = csv ? 'member,amount\next:someone,10\n' : op.body ? JSON.stringify(bodies[i]) : undefined;
    out.push({ method: op.method, url, headers: payload !== undefined ? { ...headers(i), 'content-type': op.bodyType } : headers(i), ...(payload !== undefined ? { payload } : {}), kind: 'valid' });
  }
  for (let j = 0; j < malformed; j++) {
    const i = valid + j;
    const good = fillPath(op.path, (n) => real(n, i));
    const q = qs(queries[i] as Record<string, unknown>);
    const body = op.body ? (csv ? 'member,amount\next:someone,10\n' : JSON.stringify(bodies[i])) : undefined;
    const withBody = (h: Record<string, string>) => (body !== undefined ? { ...h, 'content-type': op.bodyType } : h);
    switch (j % 6) {
      case 0:
      case 1: {
        if (op.body && !csv) {
          const broken = breakBody(bodies[i], j);
          out.push({ method: op.method, url: good + q, headers: jsonHeaders(i), payload: broken.payload, kind: `body: ${broken.kind}` });
        } else {
          out.push({ method: op.method, url: good + q, headers: jsonHeaders(i), payload: csv ? '\u0000,,"\n"unterminated' : '{"unexpected": true}', kind: 'unexpected body' });
        }
        break;
      }
      case 2: {
        const names = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
        const target = names[j % Math.max(1, names.length)];
        const url = fillPath(op.path, (n) => (n === target ? BAD_PATH_VALUES[j % BAD_PATH_VALUES.length]! : real(n, i)));
        out.push({ method: op.method, url: url + q, headers: withBody(headers(i)), ...(body !== undefined ? { payload: body } : {}), kind: 'path parameter' });
        break;
      }
      case 3: {
        const names = query.length ? query.map((p) => p.name) : ['limit', 'cursor'];
        const bad = Object.fromEntries(names.map((n, k) => [n, BAD_QUERY_VALUES[(j + k) % BAD_QUERY_VALUES.length]]));
        out.push({ method: op.method, url: good + qs(bad), headers: withBody(headers(i)), ...(body !== undefined ? { payload: body } : {}), kind: 'query' });
        break;
      }
      case 4:
        out.push({ method: op.method, url: good + q, headers: { ...headers(i), 'content-type': 'text/plain' }, payload: body ?? 'plain text', kind: 'content type' });
        break;
      default: {
        const h = withBody(headers(i));
        if (needsKey) h['idempotency-key'] = j % 2 ? 'bad key with spaces' : 'k'.repeat(300);
        else h['x-request-id'] = 'r'.repeat(2_000);
        out.push({ method: op.method, url: good + q, headers: h, ...(body !== undefined ? { payload: body } : {}), kind: 'header' });
      }
    }
  }
  return out;
}

/**
 * Put `text` into every free-text string of a body (no enum, format or pattern), cut to the
 * field's maximum length. Returns how many fields took it.
 */
export function withText(value: unknown, schema: Schema, resolve: (s: Schema) => Schema, text: string): { value: unknown; fields: number } {
  const s = resolve(schema);
  const alternatives: Schema[] | undefined = s.anyOf ?? s.oneOf;
  if (alternatives) {
    // the first alternative the value still satisfies in shape
    for (const alt of alternatives) {
      const r = resolve(alt);
      const type = Array.isArray(r.type) ? r.type : [r.type];
      if ((typeof value === 'string' && type.includes('string')) || (value && typeof value === 'object' && (type.includes('object') || type.includes('array')))) {
        return withText(value, r, resolve, text);
      }
    }
    return { value, fields: 0 };
  }
  if (typeof value === 'string') {
    const free = !s.enum && !('const' in s) && !s.format && !s.pattern;
    const cut = text.slice(0, s.maxLength ?? text.length);
    return free && cut.length >= (s.minLength ?? 0) ? { value: cut, fields: 1 } : { value, fields: 0 };
  }
  if (Array.isArray(value)) {
    let fields = 0;
    const out = value.map((v) => {
      const r = withText(v, s.items ?? {}, resolve, text);
      fields += r.fields;
      return r.value;
    });
    return { value: out, fields };
  }
  if (value && typeof value === 'object') {
    let fields = 0;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const r = withText(v, s.properties?.[k] ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : {}), resolve, text);
      fields += r.fields;
      out[k] = r.value;
    }
    return { value: out, fields };
  }
  return { value, fields: 0 };
}
