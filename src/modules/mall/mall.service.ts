import { createHash, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { ProgramContext } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { emitMessage, recordAudit } from '../../core/hooks.js';
import { newId, randomToken } from '../../core/ids.js';
import { decodeCursor, pageLimit, toPage, type Page, type PageRequest } from '../../core/pagination.js';
import { localDate } from '../../core/zoned-time.js';
import { isUniqueViolation, rawQuery, type Executor, type Trx } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import type { BenefitsService, Entitlement } from '../benefits/index.js';
import type { LedgerService } from '../ledger/index.js';
import { memberNotFound, memberRef, type Member, type MembersService } from '../members/index.js';
import { gatherStock, LOGICAL_STOCK, spreadStock, TAKE_STOCK, takeGathered, takeStock } from './mall.stock.js';

// ---------------------------------------------------------------- types

export type ItemKind = 'coupon' | 'benefit' | 'product' | 'virtual' | 'external';
export type Fulfilment = 'instant' | 'shipping' | 'supplier';
export type OrderStatus = 'awaiting_payment' | 'paid' | 'submitted' | 'shipped' | 'fulfilled' | 'completed' | 'cancelled' | 'refunded';
export type PaymentOption = 'points' | 'mixed';

/**
 * The member's tier as the mall sees it. The tiers module (issue 5) plugs in its own; until
 * then the default reads `members.attributes.tier` and answers null when it is absent.
 */
export interface TierLookup {
  tierOf(exec: Executor, ctx: ProgramContext, member: Pick<Member, 'id' | 'attributes'>): Promise<string | null>;
}
export const attributeTierLookup: TierLookup = {
  tierOf: async (_exec, _ctx, member) => (typeof member.attributes.tier === 'string' ? member.attributes.tier : null),
};

export interface Sku {
  id: string;
  itemId: string;
  code: string;
  name: string;
  attributes: Record<string, unknown>;
  /** the price in points alone (null: sold only for points + cash) */
  pointsPrice: number | null;
  /** the points + cash option (cash in the program currency's minor units) */
  mixed: { points: number; cash: number } | null;
  promo: { points: number; from: Date; until: Date } | null;
  /** the points-only price now: the promotional one inside its period */
  currentPointsPrice: number | null;
  /** null: unlimited */
  stock: number | null;
}

export interface Item {
  id: string;
  kind: ItemKind;
  name: string;
  description: string | null;
  category: string | null;
  images: string[];
  benefitId: string | null;
  supplierId: string | null;
  tierCodes: string[];
  limits: { perDay: number | null; perOrder: number | null; lifetime: number | null };
  minBalance: number;
  combinable: boolean;
  onShelf: boolean;
  shelfFrom: Date | null;
  shelfUntil: Date | null;
  /** on the shelf and inside its schedule now */
  availableNow: boolean;
  sortOrder: number;
  skus: Sku[];
  createdAt: Date;
  updatedAt: Date;
}

export interface SkuInput {
  code: string;
  name: string;
  attributes?: Record<string, unknown> | undefined;
  pointsPrice?: number | null | undefined;
  mixed?: { points: number; cash: number } | null | undefined;
  promo?: { points: number; from: string | Date; until: string | Date } | null | undefined;
  stock?: number | null | undefined;
}

export interface SkuPatch extends Partial<Omit<SkuInput, 'code'>> {
  /** add to (or, negative, take from) the stock under a guard */
  stockDelta?: number | undefined;
}

export interface ItemInput {
  kind: ItemKind;
  name: string;
  description?: string | null | undefined;
  category?: string | null | undefined;
  images?: string[] | undefined;
  benefitCode?: string | null | undefined;
  supplierId?: string | null | undefined;
  tierCodes?: string[] | undefined;
  limits?: { perDay?: number | null | undefined; perOrder?: number | null | undefined; lifetime?: number | null | undefined } | undefined;
  minBalance?: number | undefined;
  combinable?: boolean | undefined;
  onShelf?: boolean | undefined;
  shelfFrom?: string | Date | null | undefined;
  shelfUntil?: string | Date | null | undefined;
  sortOrder?: number | undefined;
  skus?: SkuInput[] | undefined;
}

export type ItemPatch = Partial<Omit<ItemInput, 'kind' | 'benefitCode' | 'supplierId' | 'skus'>>;

export interface OrderLineInput {
  skuId: string;
  quantity: number;
  payment?: PaymentOption | undefined;
}

export interface ShippingAddress {
  name: string;
  phone: string;
  address: string;
  region?: string | undefined;
  postalCode?: string | undefined;
}

export interface PlaceOrderInput {
  memberId: string;
  lines: OrderLineInput[];
  shipping?: ShippingAddress | undefined;
  idempotencyKey: string;
  source?: { type: string; id: string } | undefined;
}

export interface OrderLine {
  lineNo: number;
  itemId: string;
  skuId: string;
  quantity: number;
  payment: PaymentOption;
  unitPoints: number;
  unitCash: number;
}

export interface OrderTransition {
  from: OrderStatus | null;
  to: OrderStatus;
  at: string;
  by: string;
  note?: string;
}

export interface Order {
  id: string;
  memberId: string;
  status: OrderStatus;
  fulfilment: Fulfilment;
  supplierId: string | null;
  pointType: string;
  pointsTotal: number;
  cashTotal: number;
  paymentDueAt: Date | null;
  paymentRef: string | null;
  shipping: ShippingAddress | null;
  carrier: string | null;
  trackingNumber: string | null;
  supplierRef: string | null;
  source: { type: string; id: string } | null;
  lines: OrderLine[];
  history: OrderTransition[];
  placedAt: Date;
  updatedAt: Date;
  replayed: boolean;
}

export interface Supplier {
  id: string;
  name: string;
  keyHint: string;
  createdAt: Date;
}

export type SupplierEvent =
  | { event: 'accepted'; supplierRef: string }
  | { event: 'shipped'; supplierRef?: string | undefined; carrier: string; trackingNumber: string }
  | { event: 'delivered'; supplierRef?: string | undefined }
  | { event: 'rejected'; supplierRef?: string | undefined; reason: string };

// ---------------------------------------------------------------- rows and mapping

interface ItemRow {
  id: string;
  kind: ItemKind;
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
  shelf_from: Date | null;
  shelf_until: Date | null;
  sort_order: number;
  created_at: Date;
  updated_at: Date;
}

interface SkuRow {
  id: string;
  item_id: string;
  code: string;
  name: string;
  attributes: Record<string, unknown>;
  points_price: number | null;
  mixed_points: number | null;
  mixed_cash: number | null;
  promo_points: number | null;
  promo_from: Date | null;
  promo_until: Date | null;
  stock: number | null;
}

/** a SKU row as row_to_json renders it: time stamps as text */
type SkuJson = Omit<SkuRow, 'promo_from' | 'promo_until'> & { promo_from: string | null; promo_until: string | null };

interface OrderRow {
  id: string;
  member_id: string;
  status: OrderStatus;
  fulfilment: Fulfilment;
  supplier_id: string | null;
  point_type: string;
  points_total: number;
  cash_total: number;
  points_txn_id: string | null;
  capture_txn_id: string | null;
  payment_due_at: Date | null;
  payment_ref: string | null;
  shipping: ShippingAddress | null;
  carrier: string | null;
  tracking_number: string | null;
  supplier_ref: string | null;
  local_date: string;
  source_type: string | null;
  source_id: string | null;
  request_hash: string;
  history: OrderTransition[];
  placed_at: Date;
  updated_at: Date;
}

interface LineRow {
  order_id: string;
  line_no: number;
  item_id: string;
  sku_id: string;
  quantity: number;
  payment: PaymentOption;
  unit_points: number;
  unit_cash: number;
}

const MINUTE = 60_000;
const DEFAULT_PAYMENT_MINUTES = 30;
/** the ledger's hold outlives the payment window, so the order's own timeout always acts first */
const HOLD_MARGIN_MINUTES = 60;
const POINT_TYPE = 'points';
const MAX_LINES = 20;
const MAX_QUANTITY = 1000;

const FULFILMENT_OF: Record<ItemKind, Fulfilment> = {
  coupon: 'instant',
  benefit: 'instant',
  virtual: 'instant',
  product: 'shipping',
  external: 'supplier',
};

function inWindow(now: Date, from: Date | null, until: Date | null): boolean {
  const t = now.getTime();
  return (from === null || from.getTime() <= t) && (until === null || t < until.getTime());
}

function toSku(r: SkuRow, now: Date): Sku {
  const promo = r.promo_points !== null && r.promo_from && r.promo_until ? { points: r.promo_points, from: r.promo_from, until: r.promo_until } : null;
  const promoNow = promo !== null && inWindow(now, promo.from, promo.until);
  return {
    id: r.id,
    itemId: r.item_id,
    code: r.code,
    name: r.name,
    attributes: r.attributes,
    pointsPrice: r.points_price,
    mixed: r.mixed_points !== null && r.mixed_cash !== null ? { points: r.mixed_points, cash: r.mixed_cash } : null,
    promo,
    currentPointsPrice: r.points_price === null ? null : promoNow ? promo!.points : r.points_price,
    stock: r.stock,
  };
}

function toItem(r: ItemRow, skus: SkuRow[], now: Date): Item {
  return {
    id: r.id,
    kind: r.kind,
    name: r.name,
    description: r.description,
    category: r.category,
    images: r.images,
    benefitId: r.benefit_id,
    supplierId: r.supplier_id,
    tierCodes: r.tier_codes,
    limits: { perDay: r.limit_per_day, perOrder: r.limit_per_order, lifetime: r.limit_lifetime },
    minBalance: r.min_balance,
    combinable: r.combinable,
    onShelf: r.on_shelf,
    shelfFrom: r.shelf_from,
    shelfUntil: r.shelf_until,
    availableNow: r.on_shelf && inWindow(now, r.shelf_from, r.shelf_until),
    sortOrder: r.sort_order,
    skus: skus.filter((s) => s.item_id === r.id).map((s) => toSku(s, now)),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toOrder(r: OrderRow, lines: LineRow[], replayed = false): Order {
  return {
    id: r.id,
    memberId: r.member_id,
    status: r.status,
    fulfilment: r.fulfilment,
    supplierId: r.supplier_id,
    pointType: r.point_type,
    pointsTotal: r.points_total,
    cashTotal: r.cash_total,
    paymentDueAt: r.payment_due_at,
    paymentRef: r.payment_ref,
    shipping: r.shipping,
    carrier: r.carrier,
    trackingNumber: r.tracking_number,
    supplierRef: r.supplier_ref,
    source: r.source_type && r.source_id ? { type: r.source_type, id: r.source_id } : null,
    lines: lines
      .filter((l) => l.order_id === r.id)
      .sort((a, b) => a.line_no - b.line_no)
      .map((l) => ({ lineNo: l.line_no, itemId: l.item_id, skuId: l.sku_id, quantity: l.quantity, payment: l.payment, unitPoints: l.unit_points, unitCash: l.unit_cash })),
    history: r.history,
    placedAt: r.placed_at,
    updatedAt: r.updated_at,
    replayed,
  };
}

function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('base64url');
}

function hashKey(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

function checkInt(value: number | null | undefined, field: string, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (value === undefined || value === null) return;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new AppError('validation_failed', `${field} must be a whole number from ${min} to ${max}, got ${value}`, { field, value });
  }
}

function date(value: string | Date | null | undefined): Date | null {
  if (value === undefined || value === null) return null;
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) throw new AppError('validation_failed', `"${String(value)}" is not a date-time`);
  return d;
}

function checkSku(s: SkuInput | SkuPatch, field: string): void {
  checkInt(s.pointsPrice, `${field}.pointsPrice`, 0);
  if (s.mixed) {
    checkInt(s.mixed.points, `${field}.mixed.points`, 0);
    checkInt(s.mixed.cash, `${field}.mixed.cash`, 1);
  }
  if (s.promo) {
    checkInt(s.promo.points, `${field}.promo.points`, 0);
    const from = date(s.promo.from)!;
    const until = date(s.promo.until)!;
    if (until.getTime() <= from.getTime()) throw new AppError('validation_failed', `${field}.promo.until must be after promo.from`, { field: `${field}.promo` });
  }
  checkInt(s.stock, `${field}.stock`, 0, 2_000_000_000);
}

const ITEM_COLUMNS = `id, kind, name, description, category, images, benefit_id, supplier_id, tier_codes, limit_per_day, limit_per_order,
  limit_lifetime, min_balance, combinable, on_shelf, shelf_from, shelf_until, sort_order, created_at, updated_at`;
const SKU_COLUMNS = `id, item_id, code, name, attributes, points_price, mixed_points, mixed_cash, promo_points, promo_from, promo_until, ${LOGICAL_STOCK}`;

/** Which transitions an order allows, by the action asked for. */
const ALLOWED: Record<string, OrderStatus[]> = {
  confirm_payment: ['awaiting_payment'],
  cancel: ['awaiting_payment', 'paid', 'submitted'],
  ship: ['paid', 'submitted'],
  deliver: ['submitted', 'shipped'],
  complete: ['shipped', 'fulfilled'],
  refund: ['paid', 'submitted', 'shipped', 'fulfilled', 'completed'],
};

/**
 * The points mall: a catalogue of items with SKUs, and orders through a small state machine.
 *
 *   place ──(cash part)──▶ awaiting_payment ──confirm──▶ paid
 *   place ──(points only)────────────────────────────▶ paid
 *   paid ─▶ fulfilled (coupon, benefit, virtual: at once)   paid ─▶ submitted (external supplier)
 *   paid | submitted ─ship─▶ shipped ─deliver─▶ fulfilled ─complete─▶ completed   (shipped ─complete─▶ completed)
 *   awaiting_payment | paid | submitted ─cancel─▶ cancelled      (awaiting_payment times out into cancelled)
 *   paid | submitted | shipped | fulfilled | completed ─refund─▶ refunded
 *
 * Every transition locks the order row and checks its state first, so points and stock come
 * back exactly once however often a cancel or refund is repeated.
 */
export class MallService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly ledger: LedgerService,
    private readonly members: MembersService,
    private readonly benefits: BenefitsService,
    private tiers: TierLookup = attributeTierLookup,
  ) {}

  /** The tiers module replaces the default lookup when it is composed. */
  useTierLookup(lookup: TierLookup): void {
    this.tiers = lookup;
  }

  // ------------------------------------------------------------ suppliers

  async createSupplier(trx: Executor, ctx: ProgramContext, name: string): Promise<Supplier & { key: string }> {
    const now = ctx.clock.now();
    const key = `lrl_sup_${randomToken(24)}`;
    const id = newId('item', now.getTime()).replace(/^item_/, 'sup_');
    await rawQuery(trx, 'insert into mall_suppliers (id, program_id, name, key_hash, key_hint, created_at) values ($1, $2, $3, $4, $5, $6)', [
      id, ctx.program.id, name, hashKey(key), key.slice(-4), now,
    ]);
    const supplier = { id, name, keyHint: key.slice(-4), createdAt: now };
    await recordAudit(trx, ctx, { action: 'create', resourceType: 'supplier', resourceId: id, after: supplier });
    return { ...supplier, key };
  }

  async listSuppliers(ctx: ProgramContext): Promise<Supplier[]> {
    const { rows } = await rawQuery<{ id: string; name: string; key_hint: string; created_at: Date }>(
      this.db, 'select id, name, key_hint, created_at from mall_suppliers where program_id = $1 order by id', [ctx.program.id]);
    return rows.map((r) => ({ id: r.id, name: r.name, keyHint: r.key_hint, createdAt: r.created_at }));
  }

  /** A supplier's own key, compared in constant time; a wrong key and an unknown supplier look alike. */
  async authenticateSupplier(programId: string, supplierId: string, key: string | null): Promise<void> {
    const { rows } = await rawQuery<{ key_hash: Buffer }>(this.db, 'select key_hash from mall_suppliers where program_id = $1 and id = $2', [programId, supplierId]);
    const stored = rows[0]?.key_hash;
    if (!key || !stored || !timingSafeEqual(Buffer.from(stored), hashKey(key))) {
      throw new AppError('unauthorized', 'the supplier key is not valid for this supplier');
    }
  }

  // ------------------------------------------------------------ catalogue

  async createItem(trx: Executor, ctx: ProgramContext, input: ItemInput): Promise<Item> {
    const now = ctx.clock.now();
    checkInt(input.minBalance, 'minBalance', 0);
    checkInt(input.limits?.perDay, 'limits.perDay', 1);
    checkInt(input.limits?.perOrder, 'limits.perOrder', 1);
    checkInt(input.limits?.lifetime, 'limits.lifetime', 1);
    let benefitId: string | null = null;
    if (input.kind === 'coupon' || input.kind === 'benefit') {
      if (!input.benefitCode) throw new AppError('validation_failed', `a ${input.kind} item names the benefit it grants: benefitCode`, { field: 'benefitCode' });
      benefitId = (await this.benefits.get(ctx, input.benefitCode, trx)).id;
    } else if (input.benefitCode) {
      throw new AppError('validation_failed', `a ${input.kind} item grants no benefit`, { field: 'benefitCode' });
    }
    let supplierId: string | null = null;
    if (input.kind === 'external') {
      if (!input.supplierId) throw new AppError('validation_failed', 'an external item names its supplier: supplierId', { field: 'supplierId' });
      const s = await rawQuery(trx, 'select 1 from mall_suppliers where program_id = $1 and id = $2', [ctx.program.id, input.supplierId]);
      if (s.rows.length === 0) throw new AppError('not_found', `supplier ${input.supplierId} does not exist`, { supplier: input.supplierId });
      supplierId = input.supplierId;
    } else if (input.supplierId) {
      throw new AppError('validation_failed', 'only an external item has a supplier', { field: 'supplierId' });
    }
    const shelfFrom = date(input.shelfFrom);
    const shelfUntil = date(input.shelfUntil);
    if (shelfFrom && shelfUntil && shelfUntil.getTime() <= shelfFrom.getTime()) {
      throw new AppError('validation_failed', 'shelfUntil must be after shelfFrom', { field: 'shelfUntil' });
    }
    (input.skus ?? []).forEach((s, i) => checkSku(s, `skus[${i}]`));
    const id = newId('item', now.getTime());
    await rawQuery(
      trx,
      `insert into mall_items (id, program_id, kind, name, description, category, images, benefit_id, supplier_id, tier_codes,
         limit_per_day, limit_per_order, limit_lifetime, min_balance, combinable, on_shelf, shelf_from, shelf_until, sort_order, created_at, updated_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20)`,
      [
        id, ctx.program.id, input.kind, input.name, input.description ?? null, input.category ?? null, input.images ?? [], benefitId, supplierId,
        [...new Set(input.tierCodes ?? [])], input.limits?.perDay ?? null, input.limits?.perOrder ?? null, input.limits?.lifetime ?? null,
        input.minBalance ?? 0, input.combinable ?? true, input.onShelf ?? false, shelfFrom, shelfUntil, input.sortOrder ?? 0, now,
      ],
    );
    for (const sku of input.skus ?? []) await this.insertSku(trx, ctx, id, sku);
    const item = await this.getItem(ctx, id, trx);
    await recordAudit(trx, ctx, { action: 'create', resourceType: 'item', resourceId: id, after: item });
    return item;
  }

  private async insertSku(trx: Executor, ctx: ProgramContext, itemId: string, s: SkuInput): Promise<string> {
    checkSku(s, 'sku');
    if ((s.pointsPrice ?? null) === null && !s.mixed) {
      throw new AppError('validation_failed', 'a SKU has a points price, a points + cash option, or both', { field: 'pointsPrice' });
    }
    const now = ctx.clock.now();
    const id = newId('sku', now.getTime());
    try {
      await rawQuery(
        trx,
        `insert into mall_skus (id, program_id, item_id, code, name, attributes, points_price, mixed_points, mixed_cash, promo_points, promo_from, promo_until, stock, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)`,
        [
          id, ctx.program.id, itemId, s.code, s.name, JSON.stringify(s.attributes ?? {}), s.pointsPrice ?? null, s.mixed?.points ?? null,
          s.mixed?.cash ?? null, s.promo?.points ?? null, date(s.promo?.from), date(s.promo?.until), s.stock ?? null, now,
        ],
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('already_exists', `the item already has a SKU "${s.code}"`, { code: s.code });
      throw err;
    }
    if ((s.stock ?? null) !== null) await spreadStock(trx, id);
    return id;
  }

  async addSku(trx: Trx, ctx: ProgramContext, itemId: string, s: SkuInput): Promise<Item> {
    await this.lockItem(trx, ctx, itemId);
    const skuId = await this.insertSku(trx, ctx, itemId, s);
    const item = await this.getItem(ctx, itemId, trx);
    await recordAudit(trx, ctx, { action: 'create', resourceType: 'sku', resourceId: skuId, after: { itemId, ...item.skus.find((k) => k.id === skuId) } });
    return item;
  }

  async updateSku(trx: Trx, ctx: ProgramContext, itemId: string, skuId: string, patch: SkuPatch): Promise<Item> {
    checkSku(patch, 'sku');
    checkInt(patch.stockDelta, 'stockDelta', -2_000_000_000, 2_000_000_000);
    if (patch.stock !== undefined && patch.stockDelta !== undefined) {
      throw new AppError('validation_failed', 'give stock (a new level) or stockDelta (a change), not both', { field: 'stockDelta' });
    }
    const stockChanges = patch.stock !== undefined || patch.stockDelta !== undefined;
    const known = await rawQuery(trx, 'select 1 from mall_skus where id = $1 and item_id = $2 and program_id = $3', [skuId, itemId, ctx.program.id]);
    if (known.rows.length === 0) throw new AppError('sku_not_found', `SKU ${skuId} of item ${itemId} does not exist`, { sku: skuId });
    // A new level or a guarded change applies to the whole stock: its shards are gathered first.
    if (stockChanges) await gatherStock(trx, skuId);
    const { rows } = await rawQuery<SkuRow>(trx, `select ${SKU_COLUMNS} from mall_skus where id = $1 for no key update`, [skuId]);
    const cur = rows[0]!;
    const before = (await this.getItem(ctx, itemId, trx)).skus.find((k) => k.id === skuId);
    const pointsPrice = patch.pointsPrice !== undefined ? patch.pointsPrice : cur.points_price;
    const mixed = patch.mixed !== undefined ? patch.mixed : cur.mixed_points !== null ? { points: cur.mixed_points, cash: cur.mixed_cash! } : null;
    if (pointsPrice === null && !mixed) throw new AppError('validation_failed', 'a SKU keeps a points price or a points + cash option', { field: 'pointsPrice' });
    if (patch.stockDelta !== undefined && cur.stock === null) {
      throw new AppError('validation_failed', 'the SKU has unlimited stock: set stock to a number first', { field: 'stockDelta' });
    }
    const promo = patch.promo !== undefined ? patch.promo : cur.promo_points !== null ? { points: cur.promo_points, from: cur.promo_from!, until: cur.promo_until! } : null;
    const upd = await rawQuery(
      trx,
      `update mall_skus set name = $2, attributes = $3, points_price = $4, mixed_points = $5, mixed_cash = $6, promo_points = $7, promo_from = $8,
         promo_until = $9, stock = case when $10::boolean then $11::int else stock + $12::int end, updated_at = $13
       where id = $1 and (not $14::boolean or stock + $12::int >= 0)`,
      [
        skuId, patch.name ?? cur.name, JSON.stringify(patch.attributes ?? cur.attributes), pointsPrice, mixed?.points ?? null, mixed?.cash ?? null,
        promo?.points ?? null, date(promo?.from), date(promo?.until), patch.stock !== undefined, patch.stock ?? null, patch.stockDelta ?? 0,
        ctx.clock.now(), patch.stockDelta !== undefined,
      ],
    );
    if (upd.rowCount === 0) throw new AppError('out_of_stock', `SKU ${skuId} has ${cur.stock} in stock: cannot take ${-patch.stockDelta!}`, { stock: cur.stock });
    if (stockChanges) await spreadStock(trx, skuId);
    const item = await this.getItem(ctx, itemId, trx);
    await recordAudit(trx, ctx, { action: 'update', resourceType: 'sku', resourceId: skuId, before: { itemId, ...before }, after: { itemId, ...item.skus.find((k) => k.id === skuId) } });
    return item;
  }

  private async lockItem(trx: Trx, ctx: ProgramContext, itemId: string): Promise<ItemRow> {
    const { rows } = await rawQuery<ItemRow>(trx, `select ${ITEM_COLUMNS} from mall_items where id = $1 and program_id = $2 for update`, [itemId, ctx.program.id]);
    if (!rows[0]) throw new AppError('item_not_found', `item ${itemId} does not exist`, { item: itemId });
    return rows[0];
  }

  async updateItem(trx: Trx, ctx: ProgramContext, itemId: string, patch: ItemPatch): Promise<Item> {
    const cur = await this.lockItem(trx, ctx, itemId);
    checkInt(patch.minBalance, 'minBalance', 0);
    checkInt(patch.limits?.perDay, 'limits.perDay', 1);
    checkInt(patch.limits?.perOrder, 'limits.perOrder', 1);
    checkInt(patch.limits?.lifetime, 'limits.lifetime', 1);
    const pick = <T>(v: T | undefined, c: T): T => (v !== undefined ? v : c);
    const shelfFrom = patch.shelfFrom !== undefined ? date(patch.shelfFrom) : cur.shelf_from;
    const shelfUntil = patch.shelfUntil !== undefined ? date(patch.shelfUntil) : cur.shelf_until;
    if (shelfFrom && shelfUntil && shelfUntil.getTime() <= shelfFrom.getTime()) {
      throw new AppError('validation_failed', 'shelfUntil must be after shelfFrom', { field: 'shelfUntil' });
    }
    const limits = patch.limits ?? {};
    await rawQuery(
      trx,
      `update mall_items set name = $2, description = $3, category = $4, images = $5, tier_codes = $6, limit_per_day = $7, limit_per_order = $8,
         limit_lifetime = $9, min_balance = $10, combinable = $11, on_shelf = $12, shelf_from = $13, shelf_until = $14, sort_order = $15, updated_at = $16
       where id = $1`,
      [
        itemId, pick(patch.name, cur.name), pick(patch.description, cur.description), pick(patch.category, cur.category), pick(patch.images, cur.images),
        patch.tierCodes ? [...new Set(patch.tierCodes)] : cur.tier_codes, pick(limits.perDay, cur.limit_per_day), pick(limits.perOrder, cur.limit_per_order),
        pick(limits.lifetime, cur.limit_lifetime), pick(patch.minBalance, cur.min_balance), pick(patch.combinable, cur.combinable),
        pick(patch.onShelf, cur.on_shelf), shelfFrom, shelfUntil, pick(patch.sortOrder, cur.sort_order), ctx.clock.now(),
      ],
    );
    const item = await this.getItem(ctx, itemId, trx);
    await recordAudit(trx, ctx, { action: 'update', resourceType: 'item', resourceId: itemId, before: cur, after: item });
    return item;
  }

  /** The item a SKU belongs to (other modules name SKUs as prizes). */
  async getSkuItem(ctx: ProgramContext, skuId: string, exec: Executor = this.db): Promise<Item> {
    const { rows } = await rawQuery<{ item_id: string }>(exec, 'select item_id from mall_skus where id = $1 and program_id = $2', [skuId, ctx.program.id]);
    if (!rows[0]) throw new AppError('sku_not_found', `SKU ${skuId} does not exist`, { sku: skuId });
    return this.getItem(ctx, rows[0].item_id, exec);
  }

  async getItem(ctx: ProgramContext, itemId: string, exec: Executor = this.db): Promise<Item> {
    const { rows } = await rawQuery<ItemRow>(exec, `select ${ITEM_COLUMNS} from mall_items where id = $1 and program_id = $2`, [itemId, ctx.program.id]);
    if (!rows[0]) throw new AppError('item_not_found', `item ${itemId} does not exist`, { item: itemId });
    const skus = await rawQuery<SkuRow>(exec, `select ${SKU_COLUMNS} from mall_skus where item_id = $1 order by code`, [itemId]);
    return toItem(rows[0], skus.rows, ctx.clock.now());
  }

  /** Items in display order (sortOrder, then id); `available` keeps only what is on the shelf now. */
  async listItems(
    ctx: ProgramContext,
    filter: PageRequest & { available?: boolean | undefined; category?: string | undefined; kind?: ItemKind | undefined },
  ): Promise<Page<Item>> {
    const limit = pageLimit(filter.limit);
    const after = decodeCursor(filter.cursor);
    const now = ctx.clock.now();
    const params: unknown[] = [ctx.program.id];
    let where = 'program_id = $1';
    if (after) {
      const [order, id] = after.split('|');
      params.push(Number(order), id);
      where += ` and (sort_order, id) > ($${params.length - 1}::int, $${params.length})`;
    }
    if (filter.available) {
      params.push(now);
      where += ` and on_shelf and (shelf_from is null or shelf_from <= $${params.length}) and (shelf_until is null or shelf_until > $${params.length})`;
    }
    if (filter.category) {
      params.push(filter.category);
      where += ` and category = $${params.length}`;
    }
    if (filter.kind) {
      params.push(filter.kind);
      where += ` and kind = $${params.length}`;
    }
    params.push(limit + 1);
    const { rows } = await rawQuery<ItemRow>(this.db, `select ${ITEM_COLUMNS} from mall_items where ${where} order by sort_order, id limit $${params.length}`, params);
    const skus = rows.length
      ? (await rawQuery<SkuRow>(this.db, `select ${SKU_COLUMNS} from mall_skus where item_id = any($1::text[]) order by code`, [rows.map((r) => r.id)])).rows
      : [];
    return toPage(rows, limit, (r) => `${r.sort_order}|${r.id}`, (r) => toItem(r, skus, now));
  }

  // ------------------------------------------------------------ orders

  /**
   * Place an order: points reserved (points + cash) or spent (points only), per-member limits
   * counted and stock taken, all in the caller's transaction. The stock is taken last, so the
   * part of a hot SKU's stock it takes (mall.stock.ts) stays locked only from that statement to the commit.
   * Idempotent by key: the ledger's unique key on `mall-order:{key}` is the claim.
   */
  async placeOrder(trx: Trx, ctx: ProgramContext, input: PlaceOrderInput): Promise<Order> {
    if (!Array.isArray(input.lines) || input.lines.length === 0 || input.lines.length > MAX_LINES) {
      throw new AppError('validation_failed', `an order has 1 to ${MAX_LINES} lines`, { field: 'lines' });
    }
    input.lines.forEach((l, i) => checkInt(l.quantity, `lines[${i}].quantity`, 1, MAX_QUANTITY));
    if (new Set(input.lines.map((l) => l.skuId)).size !== input.lines.length) {
      throw new AppError('validation_failed', 'each SKU appears on one line only', { field: 'lines' });
    }
    const requestHash = hashOf({ lines: input.lines.map((l) => [l.skuId, l.quantity, l.payment ?? 'points']), shipping: input.shipping ?? null });
    const { member, priorId, skus } = await this.orderInputs(trx, ctx, input);
    if (priorId) return this.replay(trx, (await this.orderByKey(trx, member.id, input.idempotencyKey))!, requestHash, input.idempotencyKey);
    if (member.status !== 'active') throw new AppError('member_inactive', `member ${member.id} is ${member.status}: it spends nothing`, { status: member.status });

    const now = ctx.clock.now();
    const byId = new Map(skus.map((s) => [s.id, s]));
    const priced: Array<OrderLine & { item: ItemRow; stock: number | null }> = [];
    let tier: string | null | undefined;
    for (const [i, line] of input.lines.entries()) {
      const sku = byId.get(line.skuId);
      if (!sku) throw new AppError('sku_not_found', `SKU ${line.skuId} does not exist`, { sku: line.skuId });
      const item = sku.item;
      const shelfFrom = item.shelf_from ? new Date(item.shelf_from) : null;
      const shelfUntil = item.shelf_until ? new Date(item.shelf_until) : null;
      if (!item.on_shelf || !inWindow(now, shelfFrom, shelfUntil)) {
        throw new AppError('not_on_shelf', `item ${item.id} is not on the shelf`, { item: item.id, onShelf: item.on_shelf, shelfFrom, shelfUntil });
      }
      if (item.tier_codes.length > 0) {
        if (tier === undefined) tier = await this.tiers.tierOf(trx, ctx, member);
        if (tier === null || !item.tier_codes.includes(tier)) {
          throw new AppError('not_eligible', `item ${item.id} is for tiers ${item.tier_codes.join(', ')}`, {
            reason: 'tier', item: item.id, requiredTiers: item.tier_codes, memberTier: tier,
          });
        }
      }
      if (item.limit_per_order !== null && line.quantity > item.limit_per_order) {
        throw new AppError('limit_reached', `at most ${item.limit_per_order} of item ${item.id} per order`, { limit: 'perOrder', max: item.limit_per_order });
      }
      const payment = line.payment ?? 'points';
      const s = toSku(sku, now);
      let unitPoints: number;
      let unitCash = 0;
      if (payment === 'mixed') {
        if (!s.mixed) throw new AppError('cash_not_accepted', `SKU ${sku.id} is sold for points only`, { sku: sku.id });
        unitPoints = s.mixed.points;
        unitCash = s.mixed.cash;
      } else {
        if (s.currentPointsPrice === null) {
          throw new AppError('not_eligible', `SKU ${sku.id} is sold only for points + cash: payment "mixed"`, { reason: 'payment', sku: sku.id });
        }
        unitPoints = s.currentPointsPrice;
      }
      priced.push({ lineNo: i + 1, itemId: item.id, skuId: sku.id, quantity: line.quantity, payment, unitPoints, unitCash, item, stock: sku.stock });
    }
    if (priced.length > 1) {
      const lone = priced.find((p) => !p.item.combinable);
      if (lone) throw new AppError('not_combinable', `item ${lone.itemId} cannot be combined with other items in one order`, { item: lone.itemId });
    }
    const fulfilment = FULFILMENT_OF[priced[0]!.item.kind];
    const supplierId = priced[0]!.item.supplier_id;
    if (priced.some((p) => FULFILMENT_OF[p.item.kind] !== fulfilment || p.item.supplier_id !== supplierId)) {
      throw new AppError('not_combinable', 'one order holds items fulfilled the same way (at once, shipped, or by one supplier)', { field: 'lines' });
    }
    if (fulfilment !== 'instant' && !input.shipping) {
      throw new AppError('validation_failed', 'physical goods need a shipping address', { field: 'shipping' });
    }
    const minBalance = Math.max(...priced.map((p) => p.item.min_balance));
    const pointsTotal = priced.reduce((s, p) => s + p.unitPoints * p.quantity, 0);
    const cashTotal = priced.reduce((s, p) => s + p.unitCash * p.quantity, 0);
    const orderId = newId('order', now.getTime());
    const paymentMinutes = Number(ctx.program.settings.mallPaymentMinutes ?? DEFAULT_PAYMENT_MINUTES);
    const dueAt = cashTotal > 0 ? new Date(now.getTime() + paymentMinutes * MINUTE) : null;
    let pointsTxnId: string | null = null;
    if (pointsTotal > 0) {
      const op = {
        member: member.id,
        pointType: POINT_TYPE,
        amount: pointsTotal,
        idempotencyKey: `mall-order:${input.idempotencyKey}`,
        source: { type: 'mall_order', id: orderId },
        reason: 'points mall order',
        activity: 'spend',
      };
      const txn = cashTotal > 0 ? await this.ledger.reserve(ctx, { ...op, holdMinutes: paymentMinutes + HOLD_MARGIN_MINUTES }, trx) : await this.ledger.spend(ctx, op, trx);
      if (txn.replayed) {
        // A twin with this key committed while we waited on the ledger's key: answer with its order.
        const twin = await this.orderByKey(trx, member.id, input.idempotencyKey);
        if (twin) return this.replay(trx, twin, requestHash, input.idempotencyKey);
        throw new AppError('idempotency_conflict', `idempotency key "${input.idempotencyKey}" was used for another operation`, { key: input.idempotencyKey });
      }
      pointsTxnId = txn.id;
      // The minimum balance is judged on the balance the spend found, read under its lock.
      const before = txn.availableAfter + pointsTotal;
      if (before < minBalance) {
        throw new AppError('not_eligible', `redeeming this item needs a balance of at least ${minBalance}`, { reason: 'minBalance', minBalance, available: before });
      }
    }

    // Per-member limits: guarded counters, so parallel orders cannot both pass a check.
    const perItem = new Map<string, { item: ItemRow; quantity: number }>();
    for (const p of priced) {
      const e = perItem.get(p.itemId);
      if (e) e.quantity += p.quantity;
      else perItem.set(p.itemId, { item: p.item, quantity: p.quantity });
    }
    const today = localDate(now, ctx.program.timeZone);
    for (const { item, quantity } of perItem.values()) {
      if (item.limit_per_day !== null) await this.count(trx, ctx, member.id, item.id, today, quantity, item.limit_per_day, 'perDay');
      if (item.limit_lifetime !== null) await this.count(trx, ctx, member.id, item.id, 'life', quantity, item.limit_lifetime, 'lifetime');
    }

    const status: OrderStatus = cashTotal > 0 ? 'awaiting_payment' : fulfilment === 'instant' ? 'fulfilled' : fulfilment === 'supplier' ? 'submitted' : 'paid';
    const actor = ctx.actor.type;
    const history: OrderTransition[] = [{ from: null, to: cashTotal > 0 ? 'awaiting_payment' : 'paid', at: now.toISOString(), by: actor }];
    if (status !== history[0]!.to) history.push({ from: 'paid', to: status, at: now.toISOString(), by: actor });
    // An instant item's entitlements first: they name the order by id and need no row of it, so the
    // statement that takes the stock can be the last one before the commit.
    if (status === 'fulfilled') await this.fulfilInstant(trx, ctx, orderId, member.id, priced);
    // The order, its lines and the stock in one statement, so the part of the stock taken stays
    // locked for one round trip (to the commit), and no other order's foreign-key check shares
    // its lock meanwhile (see mall.stock.ts for the parts). Null stock is unlimited.
    const stocked = priced.filter((p) => p.stock !== null).sort((a, b) => (a.skuId < b.skuId ? -1 : 1));
    const { rows } = await rawQuery<{ placed: boolean; taken: string[] }>(
      trx,
      `with o as (
         insert into mall_orders (id, program_id, member_id, status, fulfilment, supplier_id, point_type, points_total, cash_total, points_txn_id,
           payment_due_at, shipping, local_date, source_type, source_id, idempotency_key, request_hash, history, placed_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19)
         on conflict (member_id, idempotency_key) do nothing
         returning id),
       l as (
         insert into mall_order_lines (order_id, line_no, program_id, item_id, sku_id, quantity, payment, unit_points, unit_cash)
         select o.id, l.line_no, $2, l.item_id, l.sku_id, l.quantity, l.payment, l.unit_points, l.unit_cash
         from o, unnest($20::int[], $21::text[], $22::text[], $23::int[], $24::text[], $25::bigint[], $26::bigint[])
           as l(line_no, item_id, sku_id, quantity, payment, unit_points, unit_cash)),
       t as (select * from unnest($27::text[], $28::int[]) as t(id, quantity)),
       ${TAKE_STOCK}
       select exists (select from o) as placed, array(select id from took) as taken`,
      [
        orderId, ctx.program.id, member.id, status, fulfilment, supplierId, POINT_TYPE, pointsTotal, cashTotal, pointsTxnId, dueAt,
        input.shipping ? JSON.stringify(input.shipping) : null, today, input.source?.type ?? null, input.source?.id ?? null,
        input.idempotencyKey, requestHash, JSON.stringify(history), now,
        priced.map((p) => p.lineNo), priced.map((p) => p.itemId), priced.map((p) => p.skuId),
        priced.map((p) => p.quantity), priced.map((p) => p.payment), priced.map((p) => p.unitPoints), priced.map((p) => p.unitCash),
        stocked.map((p) => p.skuId), stocked.map((p) => p.quantity),
      ],
    );
    if (!rows[0]!.placed) {
      throw new AppError('idempotency_in_progress', `an order with idempotency key "${input.idempotencyKey}" is being placed; retry`, { key: input.idempotencyKey });
    }
    // A SKU no free part could serve: gathered under lock, taken exactly or refused out_of_stock.
    for (const p of stocked.filter((x) => !rows[0]!.taken.includes(x.skuId))) await takeGathered(trx, p.skuId, p.quantity);
    // Answer from what was written: no read while the hot SKU row is locked.
    return {
      id: orderId, memberId: member.id, status, fulfilment, supplierId, pointType: POINT_TYPE, pointsTotal, cashTotal, paymentDueAt: dueAt,
      paymentRef: null, shipping: input.shipping ?? null, carrier: null, trackingNumber: null, supplierRef: null, source: input.source ?? null,
      lines: priced.map((p) => ({ lineNo: p.lineNo, itemId: p.itemId, skuId: p.skuId, quantity: p.quantity, payment: p.payment, unitPoints: p.unitPoints, unitCash: p.unitCash })),
      history, placedAt: now, updatedAt: now, replayed: false,
    };
  }

  /**
   * Award an item for free (a draw's item prize): an order of zero points, fulfilled like any
   * other. Refused with out_of_stock when the SKU has none left.
   */
  async awardItem(
    trx: Trx,
    ctx: ProgramContext,
    input: { memberId: string; skuId: string; quantity: number; shipping?: ShippingAddress | undefined; idempotencyKey: string; source: { type: string; id: string } },
  ): Promise<Order> {
    const member = await this.members.get(ctx, input.memberId, trx);
    const prior = await this.orderByKey(trx, member.id, input.idempotencyKey);
    if (prior) return toOrder(prior, await this.linesOf(trx, [prior.id]), true);
    const { rows } = await rawQuery<SkuRow & { item: ItemRow }>(
      trx,
      `select s.id, s.stock, row_to_json(i) as item from mall_skus s join mall_items i on i.id = s.item_id where s.id = $1 and s.program_id = $2`,
      [input.skuId, ctx.program.id],
    );
    const sku = rows[0];
    if (!sku) throw new AppError('sku_not_found', `SKU ${input.skuId} does not exist`, { sku: input.skuId });
    const now = ctx.clock.now();
    const fulfilment = FULFILMENT_OF[sku.item.kind];
    const status: OrderStatus = fulfilment === 'instant' ? 'fulfilled' : fulfilment === 'supplier' ? 'submitted' : 'paid';
    if (sku.stock !== null) await takeStock(trx, sku.id, input.quantity);
    const orderId = newId('order', now.getTime());
    const history: OrderTransition[] = [{ from: null, to: 'paid', at: now.toISOString(), by: ctx.actor.type, note: `awarded by ${input.source.type}` }];
    if (status !== 'paid') history.push({ from: 'paid', to: status, at: now.toISOString(), by: ctx.actor.type });
    await rawQuery(
      trx,
      `insert into mall_orders (id, program_id, member_id, status, fulfilment, supplier_id, point_type, points_total, cash_total,
         shipping, local_date, source_type, source_id, idempotency_key, request_hash, history, placed_at, updated_at)
       values ($1, $2, $3, $4, $5, $6, $7, 0, 0, $8, $9, $10, $11, $12, '', $13, $14, $14)`,
      [
        orderId, ctx.program.id, member.id, status, fulfilment, sku.item.supplier_id, POINT_TYPE, input.shipping ? JSON.stringify(input.shipping) : null,
        localDate(now, ctx.program.timeZone), input.source.type, input.source.id, input.idempotencyKey, JSON.stringify(history), now,
      ],
    );
    await rawQuery(
      trx,
      `insert into mall_order_lines (order_id, line_no, program_id, item_id, sku_id, quantity, payment, unit_points, unit_cash)
       values ($1, 1, $2, $3, $4, $5, 'points', 0, 0)`,
      [orderId, ctx.program.id, sku.item.id, sku.id, input.quantity],
    );
    if (status === 'fulfilled') {
      await this.fulfilInstant(trx, ctx, orderId, member.id, [{ lineNo: 1, quantity: input.quantity, item: sku.item }]);
    }
    return this.getOrder(ctx, orderId, trx);
  }

  private async fulfilInstant(
    trx: Trx,
    ctx: ProgramContext,
    orderId: string,
    memberId: string,
    lines: Array<{ lineNo: number; quantity: number; item: ItemRow }>,
  ): Promise<Entitlement[]> {
    const granted: Entitlement[] = [];
    for (const l of lines) {
      if (!l.item.benefit_id) continue; // a virtual good: the host delivers it on seeing the order
      const r = await this.benefits.grant(trx, ctx, {
        memberId,
        benefitCode: l.item.benefit_id,
        quantity: l.quantity,
        source: { type: 'mall_order', id: orderId },
        idempotencyKey: `mall-order:${orderId}:${l.lineNo}`,
      });
      granted.push(...r.entitlements);
    }
    return granted;
  }

  private async count(trx: Trx, ctx: ProgramContext, memberId: string, itemId: string, period: string, quantity: number, max: number, limit: string): Promise<void> {
    if (quantity > max) throw new AppError('limit_reached', `at most ${max} of item ${itemId} (${limit})`, { limit, max });
    const { rowCount } = await rawQuery(
      trx,
      `insert into mall_purchase_counts as c (member_id, item_id, period, program_id, quantity) values ($1, $2, $3, $4, $5)
       on conflict (member_id, item_id, period) do update set quantity = c.quantity + excluded.quantity
       where c.quantity + excluded.quantity <= $6`,
      [memberId, itemId, period, ctx.program.id, quantity, max],
    );
    if (rowCount === 0) throw new AppError('limit_reached', `at most ${max} of item ${itemId} (${limit})`, { limit, max });
  }

  /**
   * What placing an order reads, in one round trip: the member, whether its key already names an
   * order, and the SKUs asked for with their items. Refused with member_not_found like members.get.
   */
  private async orderInputs(
    trx: Trx,
    ctx: ProgramContext,
    input: PlaceOrderInput,
  ): Promise<{ member: Pick<Member, 'id' | 'status' | 'attributes'>; priorId: string | null; skus: Array<SkuRow & { item: ItemRow }> }> {
    const by = memberRef(input.memberId);
    const { rows } = await rawQuery<Pick<Member, 'id' | 'status' | 'attributes'> & { prior_id: string | null; skus: Array<{ sku: SkuJson; item: ItemRow }> | null }>(
      trx,
      `select m.id, m.status, m.attributes,
         (select o.id from mall_orders o where o.member_id = m.id and o.idempotency_key = $3) as prior_id,
         (select json_agg(json_build_object('sku', row_to_json(s), 'item', row_to_json(i)))
          from mall_skus s join mall_items i on i.id = s.item_id where s.id = any($4::text[]) and s.program_id = $1) as skus
       from members m where m.program_id = $1 and m.${by.column} = $2`,
      [ctx.program.id, by.value, input.idempotencyKey, input.lines.map((l) => l.skuId)],
    );
    const row = rows[0];
    if (!row) throw memberNotFound(input.memberId);
    return {
      member: { id: row.id, status: row.status, attributes: row.attributes },
      priorId: row.prior_id,
      skus: (row.skus ?? []).map(({ sku, item }) => ({ ...sku, promo_from: date(sku.promo_from), promo_until: date(sku.promo_until), item })),
    };
  }

  private async orderByKey(exec: Executor, memberId: string, key: string): Promise<OrderRow | undefined> {
    const { rows } = await rawQuery<OrderRow>(exec, 'select * from mall_orders where member_id = $1 and idempotency_key = $2', [memberId, key]);
    return rows[0];
  }

  private async replay(exec: Executor, prior: OrderRow, requestHash: string, key: string): Promise<Order> {
    if (prior.request_hash !== requestHash) {
      throw new AppError('idempotency_conflict', `idempotency key "${key}" was used for a different order`, { key, order: prior.id });
    }
    return toOrder(prior, await this.linesOf(exec, [prior.id]), true);
  }

  private async linesOf(exec: Executor, orderIds: string[]): Promise<LineRow[]> {
    const { rows } = await rawQuery<LineRow>(exec, 'select * from mall_order_lines where order_id = any($1::text[])', [orderIds]);
    return rows;
  }

  async getOrder(ctx: ProgramContext, orderId: string, exec: Executor = this.db): Promise<Order> {
    const { rows } = await rawQuery<OrderRow>(exec, 'select * from mall_orders where id = $1 and program_id = $2', [orderId, ctx.program.id]);
    if (!rows[0]) throw new AppError('order_not_found', `order ${orderId} does not exist`, { order: orderId });
    return toOrder(rows[0], await this.linesOf(exec, [orderId]));
  }

  async listOrders(ctx: ProgramContext, filter: PageRequest & { memberId?: string | undefined; status?: OrderStatus | undefined }): Promise<Page<Order>> {
    const limit = pageLimit(filter.limit);
    const after = decodeCursor(filter.cursor);
    const params: unknown[] = [ctx.program.id];
    let where = 'program_id = $1';
    if (filter.memberId) {
      params.push((await this.members.get(ctx, filter.memberId)).id);
      where += ` and member_id = $${params.length}`;
    }
    if (filter.status) {
      params.push(filter.status);
      where += ` and status = $${params.length}`;
    }
    if (after) {
      params.push(after);
      where += ` and id < $${params.length}`;
    }
    params.push(limit + 1);
    const { rows } = await rawQuery<OrderRow>(this.db, `select * from mall_orders where ${where} order by id desc limit $${params.length}`, params);
    const lines = rows.length ? await this.linesOf(this.db, rows.map((r) => r.id)) : [];
    return toPage(rows, limit, (r) => r.id, (r) => toOrder(r, lines));
  }

  // ------------------------------------------------------------ transitions

  private async lockOrder(trx: Trx, ctx: ProgramContext, orderId: string, action: keyof typeof ALLOWED): Promise<OrderRow> {
    const { rows } = await rawQuery<OrderRow>(trx, 'select * from mall_orders where id = $1 and program_id = $2 for update', [orderId, ctx.program.id]);
    const order = rows[0];
    if (!order) throw new AppError('order_not_found', `order ${orderId} does not exist`, { order: orderId });
    if (!ALLOWED[action]!.includes(order.status)) {
      throw new AppError('illegal_transition', `an order that is ${order.status} cannot be asked to ${action.replace('_', ' ')}`, {
        status: order.status,
        action,
        allowedFrom: ALLOWED[action],
      });
    }
    return order;
  }

  private async move(trx: Trx, ctx: ProgramContext, order: OrderRow, to: OrderStatus, set: Record<string, unknown> = {}, note?: string): Promise<Order> {
    const now = ctx.clock.now();
    const step: OrderTransition = { from: order.status, to, at: now.toISOString(), by: ctx.actor.type, ...(note ? { note } : {}) };
    const cols = Object.keys(set);
    await rawQuery(
      trx,
      `update mall_orders set status = $2, history = history || $3::jsonb, updated_at = $4${cols.map((c, i) => `, ${c} = $${i + 5}`).join('')} where id = $1`,
      [order.id, to, JSON.stringify([step]), now, ...cols.map((c) => set[c])],
    );
    await emitMessage(trx, ctx, 'order.status_changed', { orderId: order.id, memberId: order.member_id, from: order.status, to, at: now, note: note ?? null });
    return this.getOrder(ctx, order.id, trx);
  }

  /** The host reports the cash part paid: the held points are captured, then fulfilment starts. */
  async confirmPayment(trx: Trx, ctx: ProgramContext, orderId: string, input: { paymentRef: string; amount: number }): Promise<Order> {
    const order = await this.lockOrder(trx, ctx, orderId, 'confirm_payment');
    if (input.amount !== order.cash_total) {
      throw new AppError('invalid_amount', `the cash part is ${order.cash_total}, not ${input.amount}`, { expected: order.cash_total, got: input.amount });
    }
    const now = ctx.clock.now();
    if (order.payment_due_at && order.payment_due_at.getTime() <= now.getTime()) {
      throw new AppError('illegal_transition', 'the payment window has closed: the order is being cancelled', { status: order.status, paymentDueAt: order.payment_due_at });
    }
    let captureId: string | null = null;
    if (order.points_txn_id) {
      const cap = await this.ledger.capture(ctx, { transactionId: order.points_txn_id, idempotencyKey: `mall-order:${order.id}:capture`, source: { type: 'mall_order', id: order.id } }, trx);
      captureId = cap.id;
    }
    let paid = await this.move(trx, ctx, order, 'paid', { payment_ref: input.paymentRef, capture_txn_id: captureId }, `payment ${input.paymentRef}`);
    if (order.fulfilment === 'instant') {
      const lines = await this.lineItems(trx, order.id);
      await this.fulfilInstant(trx, ctx, order.id, order.member_id, lines);
      paid = await this.move(trx, ctx, { ...order, status: 'paid' }, 'fulfilled');
    } else if (order.fulfilment === 'supplier') {
      paid = await this.move(trx, ctx, { ...order, status: 'paid' }, 'submitted');
    }
    return paid;
  }

  private async lineItems(trx: Trx, orderId: string): Promise<Array<{ lineNo: number; quantity: number; item: ItemRow; skuId: string; itemId: string }>> {
    const { rows } = await rawQuery<{ line_no: number; quantity: number; sku_id: string; item_id: string; item: ItemRow }>(
      trx,
      `select l.line_no, l.quantity, l.sku_id, l.item_id, row_to_json(i) as item from mall_order_lines l join mall_items i on i.id = l.item_id
       where l.order_id = $1 order by l.line_no`,
      [orderId],
    );
    return rows.map((r) => ({ lineNo: r.line_no, quantity: r.quantity, item: r.item, skuId: r.sku_id, itemId: r.item_id }));
  }

  async ship(trx: Trx, ctx: ProgramContext, orderId: string, input: { carrier: string; trackingNumber: string }): Promise<Order> {
    const order = await this.lockOrder(trx, ctx, orderId, 'ship');
    if (order.fulfilment === 'instant') throw new AppError('illegal_transition', 'an order fulfilled at once is not shipped', { status: order.status, action: 'ship' });
    return this.move(trx, ctx, order, 'shipped', { carrier: input.carrier, tracking_number: input.trackingNumber }, `${input.carrier} ${input.trackingNumber}`);
  }

  async deliver(trx: Trx, ctx: ProgramContext, orderId: string): Promise<Order> {
    return this.move(trx, ctx, await this.lockOrder(trx, ctx, orderId, 'deliver'), 'fulfilled', {}, 'delivered');
  }

  async complete(trx: Trx, ctx: ProgramContext, orderId: string): Promise<Order> {
    return this.move(trx, ctx, await this.lockOrder(trx, ctx, orderId, 'complete'), 'completed');
  }

  /** Before fulfilment: held points released (or spent points refunded), stock and limits restored. */
  async cancel(trx: Trx, ctx: ProgramContext, orderId: string, reason: string): Promise<Order> {
    const order = await this.lockOrder(trx, ctx, orderId, 'cancel');
    await this.givePointsBack(trx, ctx, order, 'cancel');
    await this.restore(trx, order, true);
    return this.move(trx, ctx, order, 'cancelled', {}, reason);
  }

  /**
   * After payment: points refunded to their lots, entitlements the order granted revoked (refused
   * if one was used), stock restored unless the goods are gone. A cash part is for the host to refund.
   */
  async refund(trx: Trx, ctx: ProgramContext, orderId: string, input: { reason: string; restock?: boolean | undefined }): Promise<Order> {
    const order = await this.lockOrder(trx, ctx, orderId, 'refund');
    if (order.fulfilment === 'instant') {
      await this.benefits.revokeBySource(trx, ctx, { type: 'mall_order', id: order.id }, `order refunded: ${input.reason}`);
    }
    await this.givePointsBack(trx, ctx, order, 'refund');
    await this.restore(trx, order, input.restock ?? true);
    return this.move(trx, ctx, order, 'refunded', {}, input.reason);
  }

  private async givePointsBack(trx: Trx, ctx: ProgramContext, order: OrderRow, why: 'cancel' | 'refund'): Promise<void> {
    if (!order.points_txn_id) return;
    const key = `mall-order:${order.id}:${why}`;
    const source = { type: 'mall_order', id: order.id };
    if (order.status === 'awaiting_payment') {
      try {
        await this.ledger.release(ctx, { transactionId: order.points_txn_id, idempotencyKey: key, source, reason: 'order cancelled' }, trx);
      } catch (err) {
        // The ledger already let the hold lapse (its own timeout): the points are back once.
        if ((err as AppError).code !== 'reservation_not_open') throw err;
      }
      return;
    }
    const spend = order.capture_txn_id ?? order.points_txn_id;
    await this.ledger.refund(ctx, { transactionId: spend, idempotencyKey: key, source, reason: `order ${why === 'cancel' ? 'cancelled' : 'refunded'}` }, trx);
  }

  private async restore(trx: Trx, order: OrderRow, restock: boolean): Promise<void> {
    const lines = await this.linesOf(trx, [order.id]);
    if (restock) {
      for (const l of [...lines].sort((a, b) => (a.sku_id < b.sku_id ? -1 : 1))) {
        await rawQuery(trx, 'update mall_skus set stock = stock + $2 where id = $1 and stock is not null', [l.sku_id, l.quantity]);
      }
    }
    await rawQuery(
      trx,
      `update mall_purchase_counts c set quantity = greatest(c.quantity - l.quantity, 0)
       from (select item_id, sum(quantity)::int as quantity from unnest($2::text[], $3::int[]) as x(item_id, quantity) group by item_id) l
       where c.member_id = $1 and c.item_id = l.item_id and c.period in ('life', $4)`,
      [order.member_id, lines.map((l) => l.item_id), lines.map((l) => l.quantity), order.local_date],
    );
  }

  /** A supplier reports on an order it fulfils (authenticated by its own key by the caller). */
  async supplierEvent(trx: Trx, ctx: ProgramContext, supplierId: string, orderId: string, e: SupplierEvent): Promise<Order> {
    const { rows } = await rawQuery<{ supplier_id: string | null }>(trx, 'select supplier_id from mall_orders where id = $1 and program_id = $2', [orderId, ctx.program.id]);
    if (!rows[0] || rows[0].supplier_id !== supplierId) throw new AppError('order_not_found', `order ${orderId} does not exist`, { order: orderId });
    const ref = e.supplierRef ? { supplier_ref: e.supplierRef } : {};
    switch (e.event) {
      case 'accepted': {
        const order = await this.lockOrder(trx, ctx, orderId, 'ship');
        await rawQuery(trx, 'update mall_orders set supplier_ref = $2, updated_at = $3 where id = $1', [order.id, e.supplierRef, ctx.clock.now()]);
        return this.getOrder(ctx, orderId, trx);
      }
      case 'shipped': {
        const order = await this.lockOrder(trx, ctx, orderId, 'ship');
        return this.move(trx, ctx, order, 'shipped', { ...ref, carrier: e.carrier, tracking_number: e.trackingNumber }, `${e.carrier} ${e.trackingNumber}`);
      }
      case 'delivered':
        return this.move(trx, ctx, await this.lockOrder(trx, ctx, orderId, 'deliver'), 'fulfilled', ref, 'delivered by the supplier');
      case 'rejected':
        return this.refund(trx, ctx, orderId, { reason: `supplier rejected: ${e.reason}` });
    }
  }

  // ------------------------------------------------------------ jobs

  async nextPaymentDue(programId: string, after: Date, until: Date): Promise<Date | null> {
    const { rows } = await rawQuery<{ at: Date | null }>(
      this.db,
      `select min(payment_due_at) as at from mall_orders where program_id = $1 and status = 'awaiting_payment' and payment_due_at > $2 and payment_due_at <= $3`,
      [programId, after, until],
    );
    return rows[0]?.at ?? null;
  }

  async overdueOrders(programId: string, asOf: Date, limit = 1000): Promise<string[]> {
    const { rows } = await rawQuery<{ id: string }>(
      this.db,
      `select id from mall_orders where program_id = $1 and status = 'awaiting_payment' and payment_due_at <= $2 order by payment_due_at limit $3`,
      [programId, asOf, limit],
    );
    return rows.map((r) => r.id);
  }
}
