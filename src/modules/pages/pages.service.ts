import type { Kysely } from 'kysely';
import type { ProgramContext } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { recordAudit } from '../../core/hooks.js';
import { rawQuery, type Executor, type Trx } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import type { Item, MallService } from '../mall/index.js';

export interface Banner {
  imageUrl: string;
  title: string;
  linkUrl: string | null;
  /** shown from this instant (program clock); null: from always */
  from: string | null;
  /** shown until this instant, exclusive; null: without end */
  until: string | null;
  sortOrder: number;
}

export interface PageConfig {
  channel: string;
  banners: Banner[];
  /** item ids shown first, in this order; the other items follow in their display order */
  itemOrder: string[];
  updatedAt: Date | null;
}

export interface PageConfigInput {
  banners?: Array<{ imageUrl: string; title: string; linkUrl?: string | null | undefined; from?: string | null | undefined; until?: string | null | undefined; sortOrder?: number | undefined }> | undefined;
  itemOrder?: string[] | undefined;
}

/** What a member's channel shows now: the banners in their window and the mall in page order. */
export interface MemberPage {
  channel: string;
  banners: Banner[];
  items: Item[];
}

interface PageRow {
  channel: string;
  banners: Banner[] | string;
  item_order: string[];
  updated_at: Date;
}

/** The portal page shows at most one page of the shelf (the mall routes page through the rest). */
const PORTAL_ITEMS = 200;

const toConfig = (r: PageRow): PageConfig => ({
  channel: r.channel,
  banners: typeof r.banners === 'string' ? (JSON.parse(r.banners) as Banner[]) : r.banners,
  itemOrder: r.item_order,
  updatedAt: r.updated_at,
});

const emptyConfig = (channel: string): PageConfig => ({ channel, banners: [], itemOrder: [], updatedAt: null });

/** Banners sorted by sortOrder; ties keep the order they were given in. */
const sortBanners = (banners: Banner[]): Banner[] => banners.map((b, i) => ({ b, i })).sort((x, y) => x.b.sortOrder - y.b.sortOrder || x.i - y.i).map((x) => x.b);

function isActive(b: Banner, now: number): boolean {
  return (b.from === null || Date.parse(b.from) <= now) && (b.until === null || Date.parse(b.until) > now);
}

/** Page configuration per channel (issue 9): banners with time windows and the mall's item order. */
export class PagesService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly mall: MallService,
  ) {}

  /** A channel never configured answers empty: nothing pinned, no banners. */
  async get(ctx: ProgramContext, channel: string, exec: Executor = this.db): Promise<PageConfig> {
    const { rows } = await rawQuery<PageRow>(exec, 'select * from page_configs where program_id = $1 and channel = $2', [ctx.program.id, channel]);
    return rows[0] ? toConfig(rows[0]) : emptyConfig(channel);
  }

  async list(ctx: ProgramContext): Promise<PageConfig[]> {
    const { rows } = await rawQuery<PageRow>(this.db, 'select * from page_configs where program_id = $1 order by channel', [ctx.program.id]);
    return rows.map(toConfig);
  }

  /** Replace a channel's configuration whole; every pinned item must exist, or nothing changes. */
  async put(trx: Trx, ctx: ProgramContext, channel: string, body: PageConfigInput): Promise<PageConfig> {
    const input = { banners: body.banners ?? [], itemOrder: body.itemOrder ?? [] };
    const banners: Banner[] = sortBanners(
      input.banners.map((b) => ({
        imageUrl: b.imageUrl,
        title: b.title,
        linkUrl: b.linkUrl ?? null,
        from: b.from ? new Date(b.from).toISOString() : null,
        until: b.until ? new Date(b.until).toISOString() : null,
        sortOrder: b.sortOrder ?? 0,
      })),
    );
    banners.forEach((b, i) => {
      if (b.from && b.until && Date.parse(b.until) <= Date.parse(b.from)) {
        throw new AppError('validation_failed', `banner ${i}: until must be after from`, { field: `banners[${i}].until` });
      }
    });
    if (new Set(input.itemOrder).size !== input.itemOrder.length) {
      throw new AppError('validation_failed', 'an item appears in itemOrder once', { field: 'itemOrder' });
    }
    for (const id of input.itemOrder) {
      try {
        await this.mall.getItem(ctx, id, trx);
      } catch (err) {
        if (err instanceof AppError && err.code === 'item_not_found') {
          throw new AppError('unknown_page_item', `itemOrder names item ${id}, which this program does not have`, { field: 'itemOrder', item: id });
        }
        throw err;
      }
    }
    const before = await this.get(ctx, channel, trx);
    const { rows } = await rawQuery<PageRow>(
      trx,
      `insert into page_configs (program_id, channel, banners, item_order, updated_at) values ($1, $2, $3::jsonb, $4, $5)
       on conflict (program_id, channel) do update set banners = excluded.banners, item_order = excluded.item_order, updated_at = excluded.updated_at
       returning *`,
      [ctx.program.id, channel, JSON.stringify(banners), input.itemOrder, ctx.clock.now()],
    );
    const after = toConfig(rows[0]!);
    await recordAudit(trx, ctx, { action: before.updatedAt ? 'update' : 'create', resourceType: 'page_config', resourceId: channel, before: before.updatedAt ? before : undefined, after });
    return after;
  }

  /** The channel as a member sees it now (program clock): active banners, items on the shelf in page order. */
  async forMember(ctx: ProgramContext, channel: string): Promise<MemberPage> {
    const config = await this.get(ctx, channel);
    const now = ctx.clock.now().getTime();
    const shelf = (await this.mall.listItems(ctx, { available: true, limit: PORTAL_ITEMS })).data;
    const rank = new Map(config.itemOrder.map((id, i) => [id, i]));
    // Pinned first in page order; the rest keep the shelf's display order (a stable sort).
    const items = shelf
      .map((item, i) => ({ item, key: rank.get(item.id) ?? config.itemOrder.length + i }))
      .sort((a, b) => a.key - b.key)
      .map((x) => x.item);
    return { channel, banners: config.banners.filter((b) => isActive(b, now)), items };
  }
}
