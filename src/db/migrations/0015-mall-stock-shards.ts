/**
 * Stock shards for hot SKUs. One SKU row every order takes stock from is a queue: each order
 * holds its lock through its commit. A limited SKU's stock is now `mall_skus.stock` (the main
 * part, and null still means unlimited) plus the parts in `mall_sku_stock`, which orders take
 * from with SKIP LOCKED, several at once. The logical figure is always the sum; every part is
 * guarded at zero, so the sum is never oversold. Existing SKUs keep all their stock in the main
 * part (no shard rows) and behave as before until their stock is next set.
 */
export const sql = /* sql */ `
create table mall_sku_stock (
  sku_id text not null references mall_skus(id),
  shard smallint not null check (shard > 0),
  stock int not null check (stock >= 0),
  primary key (sku_id, shard)
);
`;
