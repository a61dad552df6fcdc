import type { ColumnType, Generated } from 'kysely';

/** Kysely types of migration 0005 (benefits, entitlements, mall, draws, charity); the SQL is the truth. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T = unknown> = ColumnType<T, string, string>;

export interface BenefitsTable {
  id: string;
  program_id: string;
  code: string;
  name: string;
  description: string | null;
  kind: string;
  parameters: Json<Record<string, unknown>>;
  validity_days: number | null;
  default_uses: number | null;
  quota_period: 'none' | 'day' | 'month' | 'year';
  quota_uses: number | null;
  status: 'active' | 'retired';
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface EntitlementsTable {
  id: string;
  program_id: string;
  member_id: string;
  benefit_id: string;
  status: 'active' | 'revoked';
  uses_total: number | null;
  uses_left: number | null;
  valid_from: Timestamp;
  valid_until: Timestamp | null;
  source_type: string | null;
  source_id: string | null;
  idempotency_key: string;
  granted_at: Timestamp;
  revoked_at: Timestamp | null;
  revoke_reason: string | null;
}

export interface EntitlementUsesTable {
  id: string;
  program_id: string;
  entitlement_id: string;
  member_id: string;
  benefit_id: string;
  idempotency_key: string;
  context: Json | null;
  used_at: Timestamp;
}

export interface MallSuppliersTable {
  id: string;
  program_id: string;
  name: string;
  key_hash: Buffer;
  key_hint: string;
  created_at: Timestamp;
}

export interface MallItemsTable {
  id: string;
  program_id: string;
  kind: 'coupon' | 'benefit' | 'product' | 'virtual' | 'external';
  name: string;
  description: string | null;
  category: string | null;
  images: string[];
  benefit_id: string | null;
  supplier_id: string | null;
  tier_codes: string[];
  limit_per_day: number | null;
  limit_per_order: number | null;
  limit_lifetime: number | null;
  min_balance: number;
  combinable: boolean;
  on_shelf: boolean;
  shelf_from: Timestamp | null;
  shelf_until: Timestamp | null;
  sort_order: number;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface MallSkusTable {
  id: string;
  program_id: string;
  item_id: string;
  code: string;
  name: string;
  attributes: Json<Record<string, unknown>>;
  points_price: number | null;
  mixed_points: number | null;
  mixed_cash: number | null;
  promo_points: number | null;
  promo_from: Timestamp | null;
  promo_until: Timestamp | null;
  /** the main part of the stock (null: unlimited); the rest is in mall_sku_stock */
  stock: number | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** Parts of a limited SKU's stock that orders take from in parallel (migration 0015). */
export interface MallSkuStockTable {
  sku_id: string;
  shard: number;
  stock: number;
}

export interface MallOrdersTable {
  id: string;
  program_id: string;
  member_id: string;
  status: string;
  fulfilment: 'instant' | 'shipping' | 'supplier';
  supplier_id: string | null;
  point_type: string;
  points_total: number;
  cash_total: number;
  points_txn_id: string | null;
  capture_txn_id: string | null;
  payment_due_at: Timestamp | null;
  payment_ref: string | null;
  shipping: Json | null;
  carrier: string | null;
  tracking_number: string | null;
  supplier_ref: string | null;
  local_date: string;
  source_type: string | null;
  source_id: string | null;
  idempotency_key: string;
  request_hash: string;
  history: Json<unknown[]>;
  placed_at: Timestamp;
  updated_at: Timestamp;
}

export interface MallOrderLinesTable {
  order_id: string;
  line_no: number;
  program_id: string;
  item_id: string;
  sku_id: string;
  quantity: number;
  payment: 'points' | 'mixed';
  unit_points: number;
  unit_cash: number;
}

export interface MallPurchaseCountsTable {
  member_id: string;
  item_id: string;
  period: string;
  program_id: string;
  quantity: number;
}

export interface DrawsTable {
  id: string;
  program_id: string;
  code: string;
  name: string;
  description: string | null;
  presentation: 'wheel' | 'slot' | 'scratch' | 'blind_box';
  status: 'draft' | 'active' | 'paused' | 'ended';
  point_type: string;
  cost_points: number;
  free_plays_per_day: number;
  daily_play_limit: number | null;
  win_limit_per_member: number | null;
  starts_at: Timestamp | null;
  ends_at: Timestamp | null;
  fallback_prize_id: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface DrawPrizesTable {
  id: string;
  program_id: string;
  draw_id: string;
  name: string;
  kind: 'points' | 'item' | 'benefit' | 'thanks';
  weight: number;
  stock: number | null;
  awarded: number;
  points: number | null;
  sku_id: string | null;
  benefit_id: string | null;
  limit_per_member: number | null;
  sort_order: number;
  created_at: Timestamp;
}

export interface DrawMemberStatsTable {
  draw_id: string;
  member_id: string;
  program_id: string;
  play_date: string;
  plays_that_day: number;
  plays_total: number;
  wins_total: number;
  prize_wins: Json<Record<string, number>>;
}

export interface DrawPlaysTable {
  id: string;
  program_id: string;
  draw_id: string;
  member_id: string;
  idempotency_key: string;
  random_value: number;
  total_weight: number;
  drawn_prize_id: string | null;
  prize_id: string | null;
  fallback_reason: string | null;
  cost_points: number;
  free: boolean;
  spend_key: string | null;
  reward: Json | null;
  local_date: string;
  played_at: Timestamp;
}

export interface CharityCausesTable {
  id: string;
  program_id: string;
  code: string;
  name: string;
  description: string | null;
  point_type: string;
  target_points: number;
  raised_points: Generated<number>;
  donations: Generated<number>;
  status: 'active' | 'closed';
  ends_at: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface CharityDonationsTable {
  id: string;
  program_id: string;
  cause_id: string;
  member_id: string;
  points: number;
  ledger_key: string;
  idempotency_key: string;
  donated_at: Timestamp;
}

export interface MallTables {
  benefits: BenefitsTable;
  entitlements: EntitlementsTable;
  entitlement_uses: EntitlementUsesTable;
  mall_suppliers: MallSuppliersTable;
  mall_items: MallItemsTable;
  mall_skus: MallSkusTable;
  mall_sku_stock: MallSkuStockTable;
  mall_orders: MallOrdersTable;
  mall_order_lines: MallOrderLinesTable;
  mall_purchase_counts: MallPurchaseCountsTable;
  draws: DrawsTable;
  draw_prizes: DrawPrizesTable;
  draw_member_stats: DrawMemberStatsTable;
  draw_plays: DrawPlaysTable;
  charity_causes: CharityCausesTable;
  charity_donations: CharityDonationsTable;
}
