import { AppError } from '../../core/errors.js';
import { rawQuery, type Executor } from '../../db/database.js';

/**
 * A limited SKU's stock in parts (migration 0015): the main part in `mall_skus.stock` (null:
 * unlimited) and up to STOCK_SHARDS - 1 shards in `mall_sku_stock`. One row all orders take from
 * is a queue, each order holding its lock through its commit; with shards, an order takes from
 * the first shard no one else holds (SKIP LOCKED) and several orders commit at once. Every part
 * is guarded at zero, so the logical stock (the sum) is never oversold, and an order is refused
 * out_of_stock only after all parts were gathered under lock and still fell short.
 *
 * Lock order, to keep the slow path free of deadlocks: a SKU's main row before its shards. The
 * fast path never waits for a shard (SKIP LOCKED), only for the main row; and an order whose
 * fast path found the main row short still holds its lock (the recheck locks it), so the
 * gathering that follows must not wait for the main row behind shards. The main row is locked
 * FOR NO KEY UPDATE, never FOR UPDATE: an order holding a shard takes a KEY SHARE lock on it
 * (its line's foreign key) before it commits, and must not wait behind a gathering waiting for it.
 */
export const STOCK_SHARDS = 8;

/** The logical stock of the `mall_skus` row in scope, as a select-list column. */
export const LOGICAL_STOCK = `(mall_skus.stock + coalesce((select sum(x.stock) from mall_sku_stock x where x.sku_id = mall_skus.id), 0))::int as stock`;

/**
 * CTEs taking stock on the fast path, given a CTE `t(id, quantity)` of distinct SKUs: one free
 * shard each (picked once per SKU, hence MATERIALIZED), else the main row, waiting for it.
 * `took` lists the SKUs served; the others go to takeGathered.
 */
export const TAKE_STOCK = `pick as materialized (
    select t.id, t.quantity, (select x.shard from mall_sku_stock x where x.sku_id = t.id and x.stock >= t.quantity
                              order by x.shard limit 1 for update skip locked) as shard
    from t),
  from_shard as (
    update mall_sku_stock k set stock = k.stock - p.quantity from pick p
    where k.sku_id = p.id and k.shard = p.shard and k.stock >= p.quantity
    returning k.sku_id as id),
  from_main as (
    update mall_skus k set stock = k.stock - t.quantity from t
    where k.id = t.id and k.stock >= t.quantity and t.id not in (select id from from_shard)
    returning k.id),
  took as (select id from from_shard union all select id from from_main)`;

/** Move every shard's stock into the main row, under the locks of both (admin writes, slow path). */
export async function gatherStock(exec: Executor, skuId: string): Promise<void> {
  await rawQuery(
    exec,
    `with main as (select id from mall_skus where id = $1 for no key update),
     parts as (select shard, stock from mall_sku_stock where sku_id = (select id from main) order by shard for update),
     emptied as (update mall_sku_stock k set stock = 0 from parts where k.sku_id = $1 and k.shard = parts.shard and parts.stock > 0)
     update mall_skus set stock = stock + (select coalesce(sum(stock), 0) from parts)::int where id = $1 and stock is not null`,
    [skuId],
  );
}

/** Spread a gathered main row over the shards again (its shards hold nothing when this runs). */
export async function spreadStock(exec: Executor, skuId: string): Promise<void> {
  await rawQuery(
    exec,
    `with main as (select stock from mall_skus where id = $1 and stock is not null),
     shards as (
       insert into mall_sku_stock (sku_id, shard, stock)
       select $1, g, main.stock / $2 from main, generate_series(1, $2 - 1) g where main.stock >= $2
       on conflict (sku_id, shard) do update set stock = excluded.stock)
     update mall_skus set stock = stock - ($2 - 1) * (stock / $2) where id = $1 and stock >= $2`,
    [skuId, STOCK_SHARDS],
  );
}

/**
 * The slow path, when the fast one found no shard or main row holding enough: gather all parts
 * under lock (waiting for the orders holding them), take from the sum, spread the rest again.
 */
export async function takeGathered(exec: Executor, skuId: string, quantity: number): Promise<void> {
  await gatherStock(exec, skuId);
  const taken = await rawQuery(exec, 'update mall_skus set stock = stock - $2 where id = $1 and stock >= $2', [skuId, quantity]);
  if (taken.rowCount !== 1) throw new AppError('out_of_stock', `SKU ${skuId} has fewer than ${quantity} in stock`, { sku: skuId, requested: quantity });
  await spreadStock(exec, skuId);
}

/** Take stock of one SKU (a limited one): the fast path, else the gathered one. */
export async function takeStock(exec: Executor, skuId: string, quantity: number): Promise<void> {
  const { rows } = await rawQuery<{ taken: boolean }>(
    exec,
    `with t as (select $1::text as id, $2::int as quantity), ${TAKE_STOCK} select exists (select from took) as taken`,
    [skuId, quantity],
  );
  if (!rows[0]!.taken) await takeGathered(exec, skuId, quantity);
}
