/**
 * Where points are spent: the benefits catalogue and members' entitlements, the points mall,
 * lucky draws and charity.
 *
 * Concurrency rules the tables serve:
 * - Stock (`mall_skus.stock`, `draw_prizes.stock`) changes only by a guarded statement
 *   (`stock >= n`); null stock is unlimited and never updated (no hot row for it).
 * - Per-member limits live in counter rows changed by a guarded upsert, never by read-then-insert.
 * - Every member-facing write carries an idempotency key under a unique index.
 */
export const sql = /* sql */ `
create table benefits (
  id text primary key,
  program_id text not null references programs(id),
  code text not null,
  name text not null,
  description text,
  kind text not null check (kind in ('coupon', 'discount', 'points_multiplier', 'free_shipping', 'special_function',
    'birthday_gift', 'vip_service', 'custom')),
  parameters jsonb not null default '{}',
  validity_days int check (validity_days is null or validity_days > 0),
  default_uses int check (default_uses is null or default_uses > 0),
  quota_period text not null default 'none' check (quota_period in ('none', 'day', 'month', 'year')),
  quota_uses int check (quota_uses is null or quota_uses > 0),
  status text not null default 'active' check (status in ('active', 'retired')),
  created_at timestamptz not null,
  updated_at timestamptz not null,
  unique (program_id, code)
);

create table entitlements (
  id text primary key,
  program_id text not null references programs(id),
  member_id text not null references members(id),
  benefit_id text not null references benefits(id),
  status text not null default 'active' check (status in ('active', 'revoked')),
  uses_total int check (uses_total is null or uses_total > 0),
  uses_left int check (uses_left is null or uses_left >= 0),
  valid_from timestamptz not null,
  valid_until timestamptz,
  source_type text,
  source_id text,
  idempotency_key text not null,
  granted_at timestamptz not null,
  revoked_at timestamptz,
  revoke_reason text,
  unique (member_id, idempotency_key)
);
create index entitlements_member on entitlements (member_id, granted_at desc);
create index entitlements_benefit on entitlements (benefit_id);
create index entitlements_source on entitlements (program_id, source_type, source_id) where source_id is not null;

create table entitlement_uses (
  id text primary key,
  program_id text not null references programs(id),
  entitlement_id text not null references entitlements(id),
  member_id text not null references members(id),
  benefit_id text not null references benefits(id),
  idempotency_key text not null,
  context jsonb,
  used_at timestamptz not null,
  unique (entitlement_id, idempotency_key)
);
create index entitlement_uses_member on entitlement_uses (member_id);
create index entitlement_uses_benefit on entitlement_uses (benefit_id, used_at);

create table mall_suppliers (
  id text primary key,
  program_id text not null references programs(id),
  name text not null,
  key_hash bytea not null,
  key_hint text not null,
  created_at timestamptz not null
);
create index mall_suppliers_program on mall_suppliers (program_id);

create table mall_items (
  id text primary key,
  program_id text not null references programs(id),
  kind text not null check (kind in ('coupon', 'benefit', 'product', 'virtual', 'external')),
  name text not null,
  description text,
  category text,
  images text[] not null default '{}',
  benefit_id text references benefits(id),
  supplier_id text references mall_suppliers(id),
  tier_codes text[] not null default '{}',
  limit_per_day int check (limit_per_day is null or limit_per_day > 0),
  limit_per_order int check (limit_per_order is null or limit_per_order > 0),
  limit_lifetime int check (limit_lifetime is null or limit_lifetime > 0),
  min_balance bigint not null default 0 check (min_balance >= 0),
  combinable boolean not null default true,
  on_shelf boolean not null default false,
  shelf_from timestamptz,
  shelf_until timestamptz,
  sort_order int not null default 0,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  check ((kind in ('coupon', 'benefit')) = (benefit_id is not null)),
  check ((kind = 'external') = (supplier_id is not null))
);
create index mall_items_shelf on mall_items (program_id, sort_order, id);
create index mall_items_benefit on mall_items (benefit_id) where benefit_id is not null;
create index mall_items_supplier on mall_items (supplier_id) where supplier_id is not null;

create table mall_skus (
  id text primary key,
  program_id text not null references programs(id),
  item_id text not null references mall_items(id),
  code text not null,
  name text not null,
  attributes jsonb not null default '{}',
  points_price bigint check (points_price is null or points_price >= 0),
  mixed_points bigint check (mixed_points is null or mixed_points >= 0),
  mixed_cash bigint check (mixed_cash is null or mixed_cash > 0),
  promo_points bigint check (promo_points is null or promo_points >= 0),
  promo_from timestamptz,
  promo_until timestamptz,
  stock int check (stock is null or stock >= 0),
  created_at timestamptz not null,
  updated_at timestamptz not null,
  unique (item_id, code),
  check ((mixed_points is null) = (mixed_cash is null)),
  check (points_price is not null or mixed_points is not null)
);
create index mall_skus_program on mall_skus (program_id);

create table mall_orders (
  id text primary key,
  program_id text not null references programs(id),
  member_id text not null references members(id),
  status text not null check (status in ('awaiting_payment', 'paid', 'submitted', 'shipped', 'fulfilled', 'completed', 'cancelled', 'refunded')),
  fulfilment text not null check (fulfilment in ('instant', 'shipping', 'supplier')),
  supplier_id text references mall_suppliers(id),
  point_type text not null,
  points_total bigint not null check (points_total >= 0),
  cash_total bigint not null default 0 check (cash_total >= 0),
  points_txn_id text,
  capture_txn_id text,
  payment_due_at timestamptz,
  payment_ref text,
  shipping jsonb,
  carrier text,
  tracking_number text,
  supplier_ref text,
  local_date date not null,
  source_type text,
  source_id text,
  idempotency_key text not null,
  request_hash text not null,
  history jsonb not null default '[]',
  placed_at timestamptz not null,
  updated_at timestamptz not null,
  unique (member_id, idempotency_key)
);
create index mall_orders_program on mall_orders (program_id, id desc);
create index mall_orders_member on mall_orders (member_id, id desc);
create index mall_orders_payment_due on mall_orders (program_id, payment_due_at) where status = 'awaiting_payment';
create index mall_orders_supplier on mall_orders (supplier_id) where supplier_id is not null;

create table mall_order_lines (
  order_id text not null references mall_orders(id),
  line_no int not null,
  program_id text not null,
  item_id text not null references mall_items(id),
  sku_id text not null references mall_skus(id),
  quantity int not null check (quantity > 0),
  payment text not null check (payment in ('points', 'mixed')),
  unit_points bigint not null check (unit_points >= 0),
  unit_cash bigint not null default 0 check (unit_cash >= 0),
  primary key (order_id, line_no)
);
create index mall_order_lines_item on mall_order_lines (item_id);
create index mall_order_lines_sku on mall_order_lines (sku_id);

-- Quantities a member bought of an item, per local day ('YYYY-MM-DD') and over a lifetime ('life').
create table mall_purchase_counts (
  member_id text not null references members(id),
  item_id text not null references mall_items(id),
  period text not null,
  program_id text not null,
  quantity int not null check (quantity >= 0),
  primary key (member_id, item_id, period)
);
create index mall_purchase_counts_item on mall_purchase_counts (item_id);

create table draws (
  id text primary key,
  program_id text not null references programs(id),
  code text not null,
  name text not null,
  description text,
  presentation text not null check (presentation in ('wheel', 'slot', 'scratch', 'blind_box')),
  status text not null default 'active' check (status in ('draft', 'active', 'paused', 'ended')),
  point_type text not null default 'points',
  cost_points bigint not null default 0 check (cost_points >= 0),
  free_plays_per_day int not null default 0 check (free_plays_per_day >= 0),
  daily_play_limit int check (daily_play_limit is null or daily_play_limit > 0),
  win_limit_per_member int check (win_limit_per_member is null or win_limit_per_member >= 0),
  starts_at timestamptz,
  ends_at timestamptz,
  fallback_prize_id text,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  unique (program_id, code)
);

create table draw_prizes (
  id text primary key,
  program_id text not null references programs(id),
  draw_id text not null references draws(id),
  name text not null,
  kind text not null check (kind in ('points', 'item', 'benefit', 'thanks')),
  weight int not null check (weight >= 0),
  stock int check (stock is null or stock >= 0),
  awarded int not null default 0,
  points bigint check (points is null or points > 0),
  sku_id text references mall_skus(id),
  benefit_id text references benefits(id),
  limit_per_member int check (limit_per_member is null or limit_per_member > 0),
  sort_order int not null default 0,
  created_at timestamptz not null,
  check ((kind = 'points') = (points is not null)),
  check ((kind = 'item') = (sku_id is not null)),
  check ((kind = 'benefit') = (benefit_id is not null))
);
create index draw_prizes_draw on draw_prizes (draw_id, sort_order, id);
create index draw_prizes_sku on draw_prizes (sku_id) where sku_id is not null;
create index draw_prizes_benefit on draw_prizes (benefit_id) where benefit_id is not null;

-- One row per member and draw: its lock serialises one member's plays of one draw.
create table draw_member_stats (
  draw_id text not null references draws(id),
  member_id text not null references members(id),
  program_id text not null,
  play_date date not null,
  plays_that_day int not null,
  plays_total int not null,
  wins_total int not null default 0,
  prize_wins jsonb not null default '{}',
  primary key (draw_id, member_id)
);
create index draw_member_stats_member on draw_member_stats (member_id);

create table draw_plays (
  id text primary key,
  program_id text not null references programs(id),
  draw_id text not null references draws(id),
  member_id text not null references members(id),
  idempotency_key text not null,
  random_value bigint not null,
  total_weight bigint not null,
  drawn_prize_id text references draw_prizes(id),
  prize_id text references draw_prizes(id),
  fallback_reason text,
  cost_points bigint not null,
  free boolean not null,
  spend_key text,
  reward jsonb,
  local_date date not null,
  played_at timestamptz not null,
  unique (member_id, idempotency_key)
);
create index draw_plays_draw on draw_plays (draw_id, id desc);
create index draw_plays_member on draw_plays (member_id, draw_id, id desc);
create index draw_plays_prize on draw_plays (prize_id);
create index draw_plays_drawn on draw_plays (drawn_prize_id);

create table charity_causes (
  id text primary key,
  program_id text not null references programs(id),
  code text not null,
  name text not null,
  description text,
  point_type text not null default 'points',
  target_points bigint not null check (target_points > 0),
  raised_points bigint not null default 0 check (raised_points >= 0),
  donations int not null default 0,
  status text not null default 'active' check (status in ('active', 'closed')),
  ends_at timestamptz,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  unique (program_id, code)
);

create table charity_donations (
  id text primary key,
  program_id text not null references programs(id),
  cause_id text not null references charity_causes(id),
  member_id text not null references members(id),
  points bigint not null check (points > 0),
  ledger_key text not null,
  idempotency_key text not null,
  donated_at timestamptz not null,
  unique (member_id, idempotency_key)
);
create index charity_donations_cause on charity_donations (cause_id, id desc);
create index charity_donations_member on charity_donations (member_id, id desc);
`;
