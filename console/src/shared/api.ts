/** A small fetch wrapper: JSON in and out, Laurel's error envelope turned into an ApiError. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** a fresh Idempotency-Key for writes that need one */
  idempotent?: boolean;
  /** a body sent as it is (e.g. CSV), with its content type */
  raw?: { text: string; contentType: string };
}

export function newKey(): string {
  return crypto.randomUUID();
}

export function makeApi(auth: () => Record<string, string>) {
  return async function api<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...auth(), ...(options.headers ?? {}) };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.raw) headers['content-type'] = options.raw.contentType;
    if (options.idempotent && !headers['idempotency-key']) headers['idempotency-key'] = newKey();
    const body = options.raw ? options.raw.text : options.body !== undefined ? JSON.stringify(options.body) : undefined;
    const res = await fetch(path, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    const json = text ? JSON.parse(text) : undefined;
    if (!res.ok) {
      const err = json?.error ?? {};
      throw new ApiError(res.status, err.code ?? 'http_error', err.message ?? res.statusText, err.details);
    }
    return json as T;
  };
}

/** Points are integers in smallest units; a point type with decimals shows them. */
export function formatPoints(amount: number, decimals = 0): string {
  const value = decimals ? amount / 10 ** decimals : amount;
  return value.toLocaleString(undefined, { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}
