/**
 * Privileges and paid membership (issue 5): benefits bound to tiers and plans with a grant quota
 * per period, who holds each binding now, birthday gifts once a year, plans, subscriptions and
 * the payments the host platform reports for them, and the job state of daily plan growth.
 */
export const sql = /* sql */ `
-- A benefit bound to a tier or a paid plan: granted on entry and each period while held.
create table privilege_bindings (
  id text primary key,
  program_id text not null references programs(id),
  benefit_id text not null references benefits(id),
  target_type text not null check (target_type in ('tier', 'plan')),
  target_code text not null,
  period text not null check (period in ('once', 'month', 'year', 'unlimited')),
  quantity int not null check (quantity between 1 and 100),
  -- {"kind":"benefit"} | {"kind":"periodEnd"} | {"kind":"days","days":N}
  validity jsonb not null,
  on_leave text not null check (on_leave in ('keep', 'revoke')),
  active boolean not null,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  unique (program_id, target_type, target_code, benefit_id)
);
create index privilege_bindings_benefit on privilege_bindings (benefit_id);

-- Who holds a binding now (the member is at the tier, or has the plan), since when.
create table privilege_holders (
  binding_id text not null references privilege_bindings(id),
  member_id text not null references members(id),
  program_id text not null references programs(id),
  since timestamptz not null,
  primary key (binding_id, member_id)
);
create index privilege_holders_member on privilege_holders (member_id);
create index privilege_holders_program on privilege_holders (program_id);

create table birthday_settings (
  program_id text primary key references programs(id),
  config jsonb not null,
  -- the last local date the birthday job handled (each date once, in order)
  processed_through date,
  updated_at timestamptz not null
);

-- One gift per member per year: the primary key is the guard.
create table birthday_gifts (
  member_id text not null references members(id),
  year int not null,
  program_id text not null references programs(id),
  gift_date date not null,
  transaction_id text,
  granted_at timestamptz not null,
  primary key (member_id, year)
);

create table plans (
  id text primary key,
  program_id text not null references programs(id),
  code text not null,
  name text not null,
  description text,
  period_unit text not null check (period_unit in ('day', 'month')),
  period_count int not null check (period_count between 1 and 3660),
  price_amount bigint check (price_amount is null or price_amount >= 0),
  price_currency text,
  -- {"pointType","amount"}: the plan wholly for points
  points_price jsonb,
  -- {"points":{"pointType","amount"},"cash":{"amount","currency"}}
  mixed_price jsonb,
  trial_days int not null default 0 check (trial_days >= 0),
  earning_multiplier text,
  growth_point_type text not null default 'growth',
  growth_per_day bigint not null default 0 check (growth_per_day >= 0),
  growth_loss_per_day bigint not null default 0 check (growth_loss_per_day >= 0),
  -- {"benefitCode","quantity","points":{"pointType","amount"}}: once per member and plan
  first_gift jsonb,
  status text not null check (status in ('active', 'retired')),
  created_at timestamptz not null,
  updated_at timestamptz not null,
  unique (program_id, code)
);

create table subscriptions (
  id text primary key,
  program_id text not null references programs(id),
  member_id text not null references members(id),
  plan_id text not null references plans(id),
  status text not null check (status in ('trialing', 'active', 'expired')),
  started_at timestamptz not null,
  current_period_start timestamptz not null,
  current_period_end timestamptz not null,
  cancel_at_period_end boolean not null default false,
  cancelled_at timestamptz,
  ended_at timestamptz,
  renewals int not null default 0,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
-- At most one open subscription per member and plan.
create unique index subscriptions_open on subscriptions (member_id, plan_id) where status <> 'expired';
create index subscriptions_member on subscriptions (member_id, started_at desc);
create index subscriptions_plan on subscriptions (plan_id);
create index subscriptions_due on subscriptions (program_id, current_period_end) where status <> 'expired';

-- Payments the host reported (or points spent): one per reference, so a repeated report replays.
create table plan_payments (
  id text primary key,
  program_id text not null references programs(id),
  subscription_id text not null references subscriptions(id),
  member_id text not null references members(id),
  plan_id text not null references plans(id),
  kind text not null check (kind in ('trial', 'start', 'renew')),
  reference text not null,
  request_hash text not null,
  amount bigint,
  currency text,
  points_type text,
  points_amount bigint,
  points_transaction_id text,
  period_start timestamptz not null,
  period_end timestamptz not null,
  created_at timestamptz not null,
  unique (program_id, reference)
);
create index plan_payments_subscription on plan_payments (subscription_id);
create index plan_payments_member on plan_payments (member_id);
create index plan_payments_plan on plan_payments (plan_id);

create table plan_first_gifts (
  member_id text not null references members(id),
  plan_id text not null references plans(id),
  program_id text not null references programs(id),
  granted_at timestamptz not null,
  primary key (member_id, plan_id)
);
create index plan_first_gifts_plan on plan_first_gifts (plan_id);

-- The last local midnight whose day of plan growth (and loss) was credited.
create table plan_job_state (
  program_id text primary key references programs(id),
  growth_through timestamptz not null
);

-- The tier downgrade notice: the last scheduled evaluation announced (each once).
alter table tier_ladders add column noticed_through timestamptz;
`;
