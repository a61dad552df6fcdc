/**
 * Earning: event types, rules and campaigns with their versions, behaviour events (exactly once
 * per host event id), the counters behind caps, budgets and milestones, awards held for review,
 * and scheduled grants.
 */
export const sql = /* sql */ `
create table event_types (
  program_id text not null references programs(id),
  code text not null,
  name text not null,
  attributes_schema jsonb not null,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  primary key (program_id, code)
);

-- Rules and campaigns: the current state here, every saved version in earning_rule_versions.
create table earning_rules (
  id text primary key,
  program_id text not null references programs(id),
  kind text not null check (kind in ('rule', 'campaign')),
  name text not null,
  status text not null check (status in ('draft', 'active', 'paused', 'archived')),
  version int not null,
  definition jsonb not null,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
create index earning_rules_program on earning_rules (program_id, kind, status);

create table earning_rule_versions (
  rule_id text not null references earning_rules(id),
  version int not null,
  status text not null,
  definition jsonb not null,
  actor text not null,
  created_at timestamptz not null,
  primary key (rule_id, version)
);

-- Bumped on every change of rules, campaigns or event types: processes recompile when it moves.
create table earning_config (
  program_id text primary key references programs(id),
  version bigint not null
);

create table events (
  id text not null,
  program_id text not null,
  member_id text not null references members(id),
  external_id text not null,
  type text not null,
  occurred_at timestamptz not null,
  channel text,
  attributes jsonb not null,
  status text not null check (status in ('processed', 'rejected', 'held')),
  reason text,
  totals jsonb not null,
  explanation jsonb,
  received_at timestamptz not null,
  primary key (member_id, id)
);
create unique index events_external on events (program_id, external_id);
create index events_member_type on events (member_id, type, received_at);
create index events_program_time on events (program_id, occurred_at);

-- Caps and milestones per member (scope = member id) and budgets per program (scope = program id).
create table earning_counters (
  scope_id text not null,
  key text not null,
  value bigint not null,
  primary key (scope_id, key)
);

create table award_reviews (
  id text primary key,
  program_id text not null references programs(id),
  member_id text not null references members(id),
  event_id text not null,
  point_type text not null,
  amount bigint not null check (amount > 0),
  status text not null check (status in ('pending', 'approved', 'rejected')),
  details jsonb,
  decided_by text,
  decided_at timestamptz,
  note text,
  ledger_transaction_id text,
  created_at timestamptz not null
);
create index award_reviews_program on award_reviews (program_id, status, created_at);
create index award_reviews_member on award_reviews (member_id);

create table scheduled_grants (
  id text primary key,
  program_id text not null references programs(id),
  name text not null,
  point_type text not null,
  amount bigint not null check (amount > 0),
  -- which members: tags (any of), statuses, joined before…
  audience jsonb not null,
  -- when: once at an instant, or every year on a local month and day
  schedule jsonb not null,
  next_run_at timestamptz,
  last_run_at timestamptz,
  last_result jsonb,
  status text not null check (status in ('active', 'paused', 'done')),
  created_at timestamptz not null,
  updated_at timestamptz not null
);
create index scheduled_grants_due on scheduled_grants (program_id, next_run_at) where status = 'active';
`;
