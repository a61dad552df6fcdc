/**
 * Tiers (issue 5): ladders and their tiers, qualifying metrics, daily metric buckets, each
 * member's tier state and the tier history. Bought and manual tiers live beside the qualified
 * tier in the member's state, never folded into it, so an override is always explicit.
 */
export const sql = /* sql */ `
-- One row per ladder; a program has one today (the unique code leaves room for more).
create table tier_ladders (
  id text primary key,
  program_id text not null references programs(id),
  code text not null,
  name text not null,
  -- evaluation schedule, downgrade policy, grace, counters on upgrade, lifetime rules
  policy jsonb not null,
  version int not null,
  -- the last scheduled evaluation instant run (each instant runs once, in order)
  evaluated_through timestamptz,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  unique (program_id, code)
);

create table tiers (
  id text primary key,
  program_id text not null references programs(id),
  ladder_id text not null references tier_ladders(id),
  code text not null,
  name text not null,
  rank int not null check (rank >= 1),
  colour text,
  icon text,
  description text,
  -- entry and retention conditions, validity, purchase options: the whole tier as configured
  config jsonb not null,
  -- a retired tier keeps its row (history and members may still point at it)
  active boolean not null,
  updated_at timestamptz not null,
  unique (program_id, code)
);
create unique index tiers_ladder_rank on tiers (ladder_id, rank) where active;
create index tiers_ladder on tiers (ladder_id);

-- Qualifying metrics: what feeds them (event attributes, event counts, point types, the host).
create table tier_metrics (
  program_id text not null references programs(id),
  code text not null,
  name text not null,
  source jsonb not null,
  updated_at timestamptz not null,
  primary key (program_id, code)
);

-- Contributions per member, metric and local day: window sums are SQL over these rows.
create table tier_metric_buckets (
  member_id text not null references members(id),
  metric text not null,
  local_date date not null,
  program_id text not null,
  value bigint not null,
  primary key (member_id, metric, local_date)
);
create index tier_metric_buckets_program on tier_metric_buckets (program_id, local_date);

-- A host-set metric is a value, not a flow: its latest value per member.
create table tier_metric_values (
  member_id text not null references members(id),
  metric text not null,
  program_id text not null,
  value bigint not null,
  updated_at timestamptz not null,
  primary key (member_id, metric)
);

create table member_tiers (
  member_id text primary key references members(id),
  program_id text not null references programs(id),
  ladder_id text not null references tier_ladders(id),
  joined_on date not null,
  -- effective rank (0: no tier) and where it comes from
  rank int not null,
  source text not null check (source in ('qualified', 'purchased', 'manual', 'lifetime', 'base')),
  since timestamptz not null,
  -- the tier earned by the metrics
  qualified_rank int not null,
  qualified_since timestamptz not null,
  attained_on date not null,
  valid_until timestamptz,
  grace_until timestamptz,
  -- counters on upgrade: windows start no earlier than counters_from, plus carry per metric
  counters_from date,
  carry jsonb not null default '{}',
  -- a tier bought for a period
  purchased_rank int,
  purchased_until timestamptz,
  -- an operator's explicit assignment, with an end and a reason
  manual_rank int,
  manual_until timestamptz,
  manual_reason text,
  lifetime_rank int not null default 0,
  version int not null,
  updated_at timestamptz not null
);
create index member_tiers_ladder on member_tiers (ladder_id, member_id);
create index member_tiers_program on member_tiers (program_id);
create index member_tiers_valid on member_tiers (program_id, valid_until) where valid_until is not null;
create index member_tiers_grace on member_tiers (program_id, grace_until) where grace_until is not null;
create index member_tiers_purchased on member_tiers (program_id, purchased_until) where purchased_until is not null;
create index member_tiers_manual on member_tiers (program_id, manual_until) where manual_until is not null;

create table tier_history (
  id text primary key,
  program_id text not null,
  member_id text not null references members(id),
  ladder_id text not null references tier_ladders(id),
  from_tier_id text,
  from_rank int not null,
  to_tier_id text,
  to_rank int not null,
  source text not null,
  qualified_rank int not null,
  -- event, evaluation, validity_end, grace_end, metric, manual, manual_end, purchase, purchase_end, lifetime, config
  cause text not null,
  cause_id text,
  reason text,
  actor text not null,
  valid_until timestamptz,
  -- the tier's configuration at the time of the change
  tier_snapshot jsonb,
  metrics jsonb,
  -- payment of a bought tier, the end of an assignment, …
  details jsonb,
  occurred_at timestamptz not null
);
create index tier_history_member on tier_history (member_id, occurred_at, id);
create index tier_history_program on tier_history (program_id, occurred_at);
create index tier_history_ladder on tier_history (ladder_id);
`;
