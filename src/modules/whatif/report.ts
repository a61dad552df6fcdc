import { toCsv, type Report } from '../analytics/index.js';
import type { ReplayResult } from './replay.js';
import type { SimulationResult } from './simulate.js';

type Cell = string | number | null;

/** The reports module's CSV writer (RFC 4180, formula-safe); it reads only the columns and rows. */
function csv(header: string[], rows: Cell[][]): string {
  return toCsv({ columns: header, rows: rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? null]))) } as unknown as Report);
}

/**
 * A replay as one CSV table: one row per figure, live beside draft (and the record where there is
 * one), so a spreadsheet can filter by section.
 */
export function replayCsv(r: ReplayResult): string {
  const rows: Cell[][] = [];
  for (const p of r.points) rows.push(['points_issued', p.pointType, null, p.recorded, p.live, p.draft, p.delta]);
  for (const x of r.rules) rows.push(['rule_cost', `${x.kind}:${x.id}`, x.name, null, x.live, x.draft, x.delta]);
  for (const e of r.expiring) rows.push(['points_expiring', e.pointType, null, null, e.live, e.draft, e.delta]);
  if (r.tiers) {
    for (const d of r.tiers.distribution) rows.push(['members_per_tier', d.tier ?? '(none)', null, d.recorded, d.live, d.draft, d.draft - d.live]);
    rows.push(['tier_moves', 'up', null, null, null, r.tiers.up, null]);
    rows.push(['tier_moves', 'down', null, null, null, r.tiers.down, null]);
    for (const m of r.tiers.sample) rows.push(['tier_move_sample', m.externalId, `${m.from ?? '(none)'} -> ${m.to ?? '(none)'}: ${m.why}`, null, null, null, null]);
  }
  for (const b of r.benefits.tierEntries) rows.push(['tier_entries', b.tier, null, null, b.live, b.draft, b.delta]);
  rows.push(['events', 'replayed', null, null, null, r.events.replayed, null]);
  rows.push(['events', 'changed_by_draft', null, null, null, r.events.changed, null]);
  return csv(['section', 'key', 'detail', 'recorded', 'live', 'draft', 'delta'], rows);
}

/** A simulation as one row per month and point type. */
export function simulationCsv(r: SimulationResult): string {
  const types = [...new Set(r.months.flatMap((m) => Object.keys(m.liability)))].sort();
  const tiers = [...new Set(r.months.flatMap((m) => Object.keys(m.tiers)))].sort();
  const rows: Cell[][] = [];
  for (const m of r.months) {
    for (const pt of types) {
      rows.push([m.month, m.from, m.to, pt, m.members, m.purchases, m.purchaseAmount, m.checkIns, m.issued[pt] ?? 0, pt === r.params.pointType ? m.redeemed : 0, m.expired[pt] ?? 0, m.liability[pt] ?? 0, ...tiers.map((t) => m.tiers[t] ?? 0)]);
    }
  }
  return csv(['month', 'from', 'to', 'point_type', 'members', 'purchases', 'purchase_amount', 'check_ins', 'issued', 'redeemed', 'expired', 'liability', ...tiers.map((t) => `tier_${t}`)], rows);
}
