import { useI18n } from '../../shared/i18n.js';
import type { FieldSpec } from '../kit/fields.js';
import { SingletonForm } from '../kit/SingletonForm.js';
import { useProgramQuery } from '../kit/context.js';

interface Tier { id?: string; rank?: number; code: string; name: string; colour: string | null; qualification: unknown }
interface Ladder { code: string; name: string; metrics: Array<{ code: string; name: string }>; tiers: Tier[]; baseTier: string | null }
interface Threshold { metric: string; min: number; window: string }

const PALETTE = ['#b7c9bd', '#8fb39c', '#5f9a76', '#2f6f4f', '#1f4d37', '#14301f'];

/** The first metric threshold in a qualification ({ all | any: [...] } or a leaf): what the step asks for. */
export function threshold(condition: unknown): Threshold | null {
  if (!condition || typeof condition !== 'object') return null;
  const c = condition as Record<string, any>;
  if (typeof c.metric === 'string' && typeof c.min === 'number') {
    const w = c.window ?? {};
    const window = w.kind === 'rollingMonths' ? `${w.months}m` : w.kind === 'rollingDays' ? `${w.days}d` : String(w.kind ?? '');
    return { metric: c.metric, min: c.min, window };
  }
  for (const child of [...(c.all ?? []), ...(c.any ?? [])]) {
    const found = threshold(child);
    if (found) return found;
  }
  return null;
}

/** The ladder as a staircase: one step per tier, higher for higher ranks, each with its threshold and members. */
export function LadderPicture({ ladder, members }: { ladder: Ladder; members: Map<string, number> }) {
  const { t } = useI18n();
  const n = ladder.tiers.length;
  const step = 170;
  const height = 240;
  const metricName = new Map(ladder.metrics.map((m) => [m.code, m.name]));
  const describe = (tier: Tier) => {
    const th = threshold(tier.qualification);
    return th ? `≥ ${th.min.toLocaleString()} ${metricName.get(th.metric) ?? th.metric} / ${th.window}` : t('entryTier');
  };
  const label = `${t('tierLadder')}: ${ladder.tiers.map((tier) => `${tier.name} (${describe(tier)})`).join(', ')}`;
  return (
    <svg viewBox={`0 0 ${n * step} ${height}`} width="100%" style={{ maxHeight: 260 }} role="img" aria-label={label} data-testid="ladder-picture">
      {ladder.tiers.map((tier, i) => {
        const h = 100 + (n > 1 ? (i * (height - 130)) / (n - 1) : 0);
        const x = i * step;
        const y = height - h;
        const fill = tier.colour ?? PALETTE[Math.min(i, PALETTE.length - 1)]!;
        return (
          <g key={tier.code} data-tier={tier.code}>
            <rect x={x + 4} y={y} width={step - 8} height={h} rx={8} fill={fill} />
            <text x={x + step / 2} y={y + 26} textAnchor="middle" fill="#fff" fontSize={18} fontWeight={600}>
              {tier.name}
            </text>
            <text x={x + step / 2} y={y + 48} textAnchor="middle" fill="#fff" fontSize={12}>
              {describe(tier)}
            </text>
            <text x={x + step / 2} y={height - 12} textAnchor="middle" fill="#fff" fontSize={12}>
              {t('membersCount', { n: members.get(tier.code) ?? 0 })}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

const TIER_FIELDS: FieldSpec[] = [
  { name: 'name', label: 'name' },
  { name: 'metrics', label: 'metrics', kind: 'json', required: true, initial: [{ code: 'spend', name: 'Spend', source: { kind: 'event', eventTypes: ['purchase'], attribute: 'amount' } }] },
  {
    name: 'tiers',
    label: 'tiersLowestFirst',
    kind: 'json',
    required: true,
    help: 'tiersHelp',
    initial: [
      { code: 'silver', name: 'Silver' },
      { code: 'gold', name: 'Gold', colour: '#d4a72c', qualification: { metric: 'spend', window: { kind: 'rollingMonths', months: 12 }, min: 10000 } },
    ],
  },
  { name: 'evaluation', label: 'evaluation', kind: 'json', placeholder: '{ "schedule": "monthly", "dayOfMonth": 1 }' },
  { name: 'downgrade.policy', label: 'downgradePolicy', kind: 'select', options: ['recompute', 'oneTier', 'never'] },
  { name: 'downgrade.graceDays', label: 'graceDays', kind: 'number', min: 0 },
  { name: 'counters', label: 'counters', kind: 'json', placeholder: '{ "onUpgrade": "keep" }' },
  { name: 'lifetime', label: 'lifetime', kind: 'json', placeholder: '[{ "tier": "gold", "years": 10 }]' },
];

export function Tiers() {
  const distribution = useProgramQuery<{ rows: Array<{ tier: string; members: number | null }> }>(`/reports/tiers?from=${today()}&to=${today()}`);
  const members = new Map((distribution.data?.rows ?? []).map((r) => [r.tier, r.members ?? 0]));
  return (
    <SingletonForm<Ladder>
      title="tiers"
      testId="tiers"
      path="/tiers"
      fields={TIER_FIELDS}
      // Tiers keep their ids by code: the PUT takes neither ids nor ranks.
      fromData={(l) => ({ ...l, tiers: l.tiers.map(({ id: _id, rank: _rank, ...tier }) => tier) })}
    >
      {(ladder) => ladder && <LadderPicture ladder={ladder} members={members} />}
    </SingletonForm>
  );
}
