import { Input, InputNumber, Space } from 'antd';
import type { ReactNode } from 'react';
import { useI18n, type MessageKey } from '../../shared/i18n.js';

type Policy = { kind: string } & Record<string, unknown>;
type Param = 'days' | 'months' | 'years' | 'month' | 'day' | 'yearsAfter' | 'roundTo' | 'at' | 'date';

/** The simple expiry kinds, edited field by field; the nested ones (by tier, versioned, inactivity) as JSON. */
const PARAMS: Record<string, Param[]> = {
  never: [],
  afterDays: ['days', 'roundTo'],
  afterMonths: ['months', 'roundTo'],
  firstOfMonthAfter: ['months', 'at'],
  endOfYearAfter: ['years'],
  calendarAnchor: ['month', 'day', 'yearsAfter', 'at'],
  fixedDate: ['date', 'at'],
};
const KINDS = [...Object.keys(PARAMS), 'inactivity', 'byTier', 'versioned'];
const CHOICES: Partial<Record<Param, string[]>> = { roundTo: ['instant', 'endOfDay', 'endOfMonth'], at: ['startOfDay', 'endOfDay'] };
const DEFAULTS: Record<Param, unknown> = { days: 365, months: 12, years: 1, month: 12, day: 31, yearsAfter: 1, roundTo: 'endOfDay', at: 'endOfDay', date: '2030-12-31' };
const TEMPLATES: Record<string, Policy> = {
  inactivity: { kind: 'inactivity', months: 12, roundTo: 'endOfDay', activityKinds: ['earn', 'spend'] },
  byTier: { kind: 'byTier', tiers: {}, default: { kind: 'never' } },
  versioned: { kind: 'versioned', versions: [{ effectiveFrom: '2030-01-01T00:00:00Z', policy: { kind: 'never' } }] },
};

export function describeExpiry(policy: Policy | null | undefined, t: (key: MessageKey, vars?: Record<string, string | number>) => string): string {
  if (!policy) return '—';
  const key = `expiry_${policy.kind}` as MessageKey;
  const vars = Object.fromEntries(Object.entries(policy).filter(([, v]) => typeof v === 'string' || typeof v === 'number')) as Record<string, string | number>;
  return t(key, vars);
}

/** A controlled input for a point type's expiry policy (the form passes id, value, onChange). */
export function ExpiryPolicyInput({ id, value, onChange }: { id?: string; value?: Policy; onChange?(v: Policy): void }) {
  const { t } = useI18n();
  const policy: Policy = value ?? { kind: 'never' };
  const params = PARAMS[policy.kind];
  const setKind = (kind: string) => {
    const ps = PARAMS[kind];
    onChange?.(ps ? { kind, ...Object.fromEntries(ps.map((p) => [p, policy[p] ?? DEFAULTS[p]])) } : TEMPLATES[kind]!);
  };
  const set = (p: Param, v: unknown) => onChange?.({ ...policy, [p]: v });
  const labelled = (p: Param, input: ReactNode) => (
    <label key={p} style={{ display: 'inline-flex', flexDirection: 'column', fontSize: 12 }}>
      {t(`expiryParam_${p}` as MessageKey)}
      {input}
    </label>
  );
  return (
    <Space direction="vertical" style={{ width: '100%' }} data-testid="expiry-policy">
      <select id={id} className="ant-input" value={policy.kind} onChange={(e) => setKind(e.target.value)}>
        {KINDS.map((k) => (
          <option key={k} value={k}>
            {t(`expiryKind_${k}` as MessageKey)}
          </option>
        ))}
      </select>
      {params ? (
        <Space wrap>
          {params.map((p) =>
            CHOICES[p]
              ? labelled(
                  p,
                  <select className="ant-input" value={String(policy[p] ?? DEFAULTS[p])} onChange={(e) => set(p, e.target.value)}>
                    {CHOICES[p]!.map((c) => (
                      <option key={c}>{c}</option>
                    ))}
                  </select>,
                )
              : p === 'date'
                ? labelled(p, <Input type="date" value={String(policy[p] ?? '')} onChange={(e) => set(p, e.target.value)} />)
                : labelled(p, <InputNumber min={0} precision={0} value={Number(policy[p] ?? DEFAULTS[p])} onChange={(v) => set(p, Number(v ?? 0))} />),
          )}
        </Space>
      ) : (
        <label style={{ display: 'block', fontSize: 12 }}>
          {t('expiryJson')}
          <JsonPolicy policy={policy} onChange={(v) => onChange?.(v)} />
        </label>
      )}
      <span style={{ color: '#667' }}>{describeExpiry(policy, t)}</span>
    </Space>
  );
}

function JsonPolicy({ policy, onChange }: { policy: Policy; onChange(v: Policy): void }) {
  return (
    <Input.TextArea
      rows={6}
      spellCheck={false}
      style={{ fontFamily: 'monospace', fontSize: 12 }}
      defaultValue={JSON.stringify(policy, null, 2)}
      onChange={(e) => {
        try {
          onChange(JSON.parse(e.target.value) as Policy);
        } catch {
          // keep the last valid policy until the text parses again
        }
      }}
    />
  );
}
