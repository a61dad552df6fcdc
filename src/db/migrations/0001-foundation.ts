/**
 * Programs, keys, members and the generic idempotency store.
 *
 * Distribution: every member-owned table carries `program_id` and `member_id`, and its primary
 * key starts with `member_id`, so a sharded PostgreSQL (Citus) can distribute those tables by
 * member and keep one member's transaction on one node; program-level configuration tables
 * become reference tables.
 */
export const sql = /* sql */ `
create table programs (
  id text primary key,
  name text not null,
  mode text not null check (mode in ('live', 'sandbox')),
  time_zone text not null,
  currency char(3) not null,
  settings jsonb not null default '{}'::jsonb,
  -- a sandbox program's test clock; null for live programs, which read the system clock
  clock_at timestamptz,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  check ((mode = 'sandbox') = (clock_at is not null))
);

-- deployment-wide settings, e.g. the hash of the generated admin key
create table deployment_settings (
  name text primary key,
  value jsonb not null,
  updated_at timestamptz not null
);

create table api_keys (
  id text primary key,
  program_id text not null references programs(id),
  name text not null,
  -- the first characters of the secret, shown in lists so an operator can tell keys apart
  hint text not null,
  secret_hash bytea not null unique,
  scopes text[] not null,
  created_at timestamptz not null,
  revoked_at timestamptz,
  last_used_at timestamptz
);
create index api_keys_program on api_keys (program_id, created_at);

create table members (
  id text primary key,
  program_id text not null references programs(id),
  external_id text not null,
  status text not null default 'active' check (status in ('active', 'frozen', 'closed')),
  name text,
  phone text,
  email text,
  birthday date,
  gender text,
  region text,
  attributes jsonb not null default '{}'::jsonb,
  tags text[] not null default '{}',
  joined_at timestamptz not null,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  unique (program_id, external_id)
);
create index members_program on members (program_id, id);

-- One row per Idempotency-Key per caller scope (a program, or the deployment admin).
create table idempotency_keys (
  scope text not null,
  key text not null,
  request_hash text not null,
  response_status int not null,
  response_body jsonb,
  created_at timestamptz not null,
  primary key (scope, key)
);
create index idempotency_keys_created on idempotency_keys (created_at);

-- Scheduled jobs: one row per (job, program); a process claims a due row with
-- FOR UPDATE SKIP LOCKED so several server processes never run the same job at once.
create table scheduled_jobs (
  name text not null,
  program_id text not null references programs(id),
  next_run_at timestamptz not null,
  last_run_at timestamptz,
  last_result jsonb,
  primary key (name, program_id)
);
create index scheduled_jobs_due on scheduled_jobs (next_run_at);
`;
