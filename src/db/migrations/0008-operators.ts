/**
 * Operators of the console (roles admin / operator / viewer) and their sessions.
 * A session row is looked up by the SHA-256 of its cookie value, so the database never holds a
 * usable session token; the CSRF token is per session and sent back in a header on writes.
 */
export const sql = /* sql */ `
create table operators (
  id text primary key,
  username text not null unique,
  display_name text,
  password_hash text not null,
  role text not null check (role in ('admin', 'operator', 'viewer')),
  created_at timestamptz not null,
  disabled_at timestamptz
);

create table operator_sessions (
  token_hash text primary key,
  operator_id text not null references operators(id),
  csrf_token text not null,
  created_at timestamptz not null,
  expires_at timestamptz not null,
  revoked_at timestamptz
);
create index operator_sessions_by_operator on operator_sessions (operator_id);
`;
