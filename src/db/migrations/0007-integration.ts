/**
 * Data and integration: webhook subscriptions and their outbox, the delivery log, the audit
 * log, and the indexes the reports read by (program, time).
 *
 * - `webhook_outbox`: one row per message and subscription that wants it, written in the same
 *   transaction as the change (code calls `emitMessage`; ledger transactions reach it through
 *   the trigger below, so every ledger path — single, batch, the set-based expiry sweep — emits
 *   without touching the ledger's code). No subscription: nothing is written.
 *   `next_attempt_at` is program time (a sandbox program's test clock); `lease_until` is wall
 *   time (it guards against two processes sending one row at once).
 * - `webhook_attempts`: every HTTP attempt, the delivery log per endpoint.
 * - `audit_log`: configuration changes and manual adjustments, who, when, before and after.
 */
export const sql = /* sql */ `
create table webhook_subscriptions (
  id text primary key,
  program_id text not null references programs(id),
  url text not null,
  -- kept in clear: signing needs it; returned once, at creation
  secret text not null,
  event_types text[] not null,
  active boolean not null default true,
  description text,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  deleted_at timestamptz
);
create index webhook_subscriptions_program on webhook_subscriptions (program_id) where active and deleted_at is null;

create table webhook_outbox (
  id bigint generated always as identity primary key,
  message_id text not null,
  program_id text not null references programs(id),
  subscription_id text not null references webhook_subscriptions(id),
  type text not null,
  payload jsonb not null,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
  attempts int not null default 0,
  created_at timestamptz not null,
  next_attempt_at timestamptz not null,
  -- retries stop a day after this (the creation, or a manual redelivery)
  window_start timestamptz,
  lease_until timestamptz,
  last_status int,
  last_error text,
  delivered_at timestamptz,
  unique (subscription_id, message_id)
);
create index webhook_outbox_due on webhook_outbox (program_id, next_attempt_at) where status = 'pending';
create index webhook_outbox_subscription on webhook_outbox (subscription_id, id desc);

create table webhook_attempts (
  id bigint generated always as identity primary key,
  outbox_id bigint not null references webhook_outbox(id),
  subscription_id text not null references webhook_subscriptions(id),
  program_id text not null,
  attempt int not null,
  at timestamptz not null,
  status_code int,
  error text,
  duration_ms int not null
);
create index webhook_attempts_outbox on webhook_attempts (outbox_id, id);
create index webhook_attempts_subscription on webhook_attempts (subscription_id, id desc);

create table audit_log (
  id bigint generated always as identity primary key,
  program_id text not null references programs(id),
  actor text not null,
  action text not null,
  resource_type text not null,
  resource_id text not null,
  before jsonb,
  after jsonb,
  -- program time (a sandbox program's test clock), and the wall time it was written
  at timestamptz not null,
  recorded_at timestamptz not null default now()
);
create index audit_log_program on audit_log (program_id, id desc);
create index audit_log_resource on audit_log (program_id, resource_type, id desc);
create index audit_log_actor on audit_log (program_id, actor, id desc);

-- Reports read ranges of (program, time): each of these turns a scan of a program's history
-- into an index range scan of the period asked for.
create index ledger_transactions_program_time on ledger_transactions (program_id, occurred_at);
create index mall_orders_program_time on mall_orders (program_id, placed_at);
create index draw_plays_program_time on draw_plays (program_id, played_at);
create index entitlements_program_time on entitlements (program_id, granted_at);
create index entitlement_uses_program_time on entitlement_uses (program_id, used_at);
create index members_program_joined on members (program_id, joined_at);
create index member_medals_program on member_medals (program_id, awarded_at);

create function laurel_ledger_outbox() returns trigger language plpgsql as $$
declare
  t text;
begin
  t := case new.kind
    when 'earn' then 'points.earned'
    when 'activation' then 'points.activated'
    when 'spend' then 'points.spent'
    when 'capture' then 'points.spent'
    when 'expiry' then 'points.expired'
    when 'refund' then 'points.refunded'
    when 'reversal' then 'points.reversed'
    when 'cancel_pending' then 'points.reversed'
    when 'adjustment' then 'points.adjusted'
    else null end;
  if t is null then return null; end if;
  -- the common case, no subscriber: one index probe, nothing written
  if not exists (select 1 from webhook_subscriptions s where s.program_id = new.program_id and s.active
                 and s.deleted_at is null and (t = any(s.event_types) or '*' = any(s.event_types))) then
    return null;
  end if;
  insert into webhook_outbox (message_id, program_id, subscription_id, type, payload, created_at, next_attempt_at)
  select 'msg_' || new.id, new.program_id, s.id, t,
    jsonb_build_object(
      'transactionId', new.id, 'kind', new.kind, 'status', new.status,
      'memberId', new.member_id, 'externalId', (select m.external_id from members m where m.id = new.member_id),
      'pointType', (select p.code from point_types p where p.id = new.point_type_id),
      'amount', new.amount, 'relatedId', new.related_id,
      'source', case when new.source_type is null then null else jsonb_build_object('type', new.source_type, 'id', new.source_id) end,
      'reason', new.reason, 'actor', new.actor, 'occurredAt', new.occurred_at),
    new.occurred_at, new.occurred_at
  from webhook_subscriptions s
  where s.program_id = new.program_id and s.active and s.deleted_at is null and (t = any(s.event_types) or '*' = any(s.event_types))
  on conflict (subscription_id, message_id) do nothing;
  return null;
end $$;

create trigger ledger_transactions_outbox after insert on ledger_transactions
  for each row execute function laurel_ledger_outbox();
`;
