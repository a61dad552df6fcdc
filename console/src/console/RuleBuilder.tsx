import { useQuery } from '@tanstack/react-query';
import { Alert, App, Button, Card, Col, Descriptions, Form, Input, InputNumber, Radio, Row, Space, Tag, Typography } from 'antd';
import { useEffect, useMemo, useState } from 'react';
import { ApiError } from '../shared/api.js';
import { useI18n } from '../shared/i18n.js';
import { api, navigate, type Member, type Page, type PointType, type Program } from './client.js';
import { LIST_OPS, NO_VALUE_OPS, OPS, newGroup, newLeaf, rootCondition, scalar, update, type Group, type Leaf, type Op } from './conditions.js';

interface EventType {
  code: string;
  name: string;
  attributesSchema: { properties?: Record<string, { type?: string | string[]; description?: string }> } | null;
}

const FIXED_FIELDS = ['event.channel', 'member.tier', 'member.tags', 'member.plans', 'member.birthdayMonth', 'member.isBirthday', 'member.daysSinceJoining', 'time.weekday', 'time.hour', 'time.monthDay', 'time.month', 'time.date'];
const scalarType = (t: string | string[] | undefined) => (Array.isArray(t) ? t.find((x) => x !== 'null') : t);

function Row_({ leaf, fields, onChange, onRemove, index }: { leaf: Leaf; fields: string[]; onChange(l: Leaf): void; onRemove(): void; index: string }) {
  const { t } = useI18n();
  return (
    <Space wrap data-testid="condition-row">
      <select aria-label={`${t('field')} ${index}`} value={leaf.field} onChange={(e) => onChange({ ...leaf, field: e.target.value })}>
        {fields.map((f) => (
          <option key={f} value={f}>
            {f}
          </option>
        ))}
      </select>
      <select aria-label={`${t('operator')} ${index}`} value={leaf.op} onChange={(e) => onChange({ ...leaf, op: e.target.value as Op })}>
        {OPS.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
      {!NO_VALUE_OPS.has(leaf.op) && (
        <Input
          aria-label={`${t('value')} ${index}`}
          style={{ width: 200 }}
          placeholder={LIST_OPS.has(leaf.op) ? 'a, b, c' : ''}
          value={leaf.value}
          onChange={(e) => onChange({ ...leaf, value: e.target.value })}
        />
      )}
      <Button size="small" danger onClick={onRemove} aria-label={`${t('remove')} ${index}`}>
        {t('remove')}
      </Button>
    </Space>
  );
}

function GroupEditor({ group, root, setRoot, fields, path }: { group: Group; root: Group; setRoot(g: Group): void; fields: string[]; path: string }) {
  const { t } = useI18n();
  const change = (id: string, fn: (n: Leaf | Group) => Leaf | Group | null) => setRoot(update(root, id, fn));
  return (
    <div style={{ borderLeft: '3px solid #2f6f4f', paddingLeft: 12, margin: '8px 0' }} data-testid="condition-group">
      <Space style={{ marginBottom: 8 }}>
        <Radio.Group
          aria-label={`${t('matchMode')} ${path}`}
          value={group.mode}
          onChange={(e) => change(group.id, (g) => ({ ...(g as Group), mode: e.target.value }))}
          optionType="button"
          options={[
            { label: t('all'), value: 'all' },
            { label: t('any'), value: 'any' },
          ]}
        />
        <Button size="small" onClick={() => change(group.id, (g) => ({ ...(g as Group), children: [...(g as Group).children, newLeaf(fields[0])] }))}>
          {t('addCondition')}
        </Button>
        <Button size="small" onClick={() => change(group.id, (g) => ({ ...(g as Group), children: [...(g as Group).children, newGroup('any')] }))}>
          {t('addGroup')}
        </Button>
        {group.id !== root.id && (
          <Button size="small" danger onClick={() => change(group.id, () => null)}>
            {t('remove')}
          </Button>
        )}
      </Space>
      {group.children.map((child, i) => {
        const index = `${path}.${i + 1}`;
        return child.kind === 'leaf' ? (
          <div key={child.id} style={{ marginBottom: 6 }}>
            <Row_ leaf={child} fields={fields} index={index} onChange={(l) => change(child.id, () => l)} onRemove={() => change(child.id, () => null)} />
          </div>
        ) : (
          <GroupEditor key={child.id} group={child} root={root} setRoot={setRoot} fields={fields} path={index} />
        );
      })}
    </div>
  );
}

/** A rule built with form fields and a condition tree, previewed live against a sample event with `events:preview`. */
export function RuleBuilder({ program }: { program: Program }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const base = `/v1/programs/${program.id}`;
  const eventTypes = useQuery({ queryKey: ['event-types', program.id], queryFn: () => api<{ data: EventType[] }>('GET', `${base}/event-types`) });
  const pointTypes = useQuery({ queryKey: ['point-types', program.id], queryFn: () => api<{ data: PointType[] }>('GET', `${base}/point-types`) });
  const members = useQuery({ queryKey: ['members', program.id], queryFn: () => api<Page<Member>>('GET', `${base}/members?limit=100`) });

  const [name, setName] = useState('');
  const [eventType, setEventType] = useState('purchase');
  const [priority, setPriority] = useState(10);
  const [stacking, setStacking] = useState<'cumulative' | 'exclusive'>('cumulative');
  const [rewardType, setRewardType] = useState<'fixed' | 'perUnit'>('fixed');
  const [pointType, setPointType] = useState('points');
  const [amount, setAmount] = useState(10);
  const [attribute, setAttribute] = useState('amount');
  const [rate, setRate] = useState('1');
  const [per, setPer] = useState(100);
  const [root, setRoot] = useState<Group>(() => newGroup('all'));
  const [sampleMember, setSampleMember] = useState('');
  const [sample, setSample] = useState<Record<string, string>>({ amount: '10000' });
  const [preview, setPreview] = useState<{ totals: Record<string, number>; trace: any; error?: string } | null>(null);
  const [saving, setSaving] = useState(false);

  const type = eventTypes.data?.data.find((e) => e.code === eventType);
  const attributes = useMemo(
    () => Object.entries(type?.attributesSchema?.properties ?? {}).filter(([, s]) => ['string', 'integer', 'number', 'boolean'].includes(scalarType(s.type) ?? '')),
    [type],
  );
  const fields = useMemo(() => [...attributes.map(([a]) => `event.attributes.${a}`), ...FIXED_FIELDS], [attributes]);
  const memberRef = sampleMember || (members.data?.data[0] ? members.data.data[0].id : '');

  const definition = useMemo(() => {
    const condition = rootCondition(root);
    const reward = rewardType === 'fixed' ? { type: 'fixed', pointType, amount } : { type: 'perUnit', pointType, attribute, rate, per };
    return { name: name || 'draft', priority, stacking, eventTypes: [eventType], ...(condition ? { condition } : {}), rewards: [reward] };
  }, [name, priority, stacking, eventType, root, rewardType, pointType, amount, attribute, rate, per]);

  useEffect(() => {
    if (!memberRef) return;
    const timer = setTimeout(async () => {
      const attrs: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(sample)) if (value.trim() !== '' && attributes.some(([a]) => a === key)) attrs[key] = scalar(value);
      try {
        const res = await api<{ totals: Record<string, number>; explanation: any }>('POST', `${base}/events:preview`, {
          body: { event: { member: memberRef, type: eventType, attributes: attrs }, drafts: { rules: [{ ...definition, id: 'rule_preview', version: 1, status: 'active' }] } },
        });
        const trace = (res.explanation?.rules ?? []).find((r: any) => r.ruleId === 'rule_preview');
        setPreview({ totals: res.totals, trace });
      } catch (err) {
        setPreview({ totals: {}, trace: null, error: err instanceof ApiError ? `${err.code}: ${err.message} ${err.details ? JSON.stringify(err.details) : ''}` : String(err) });
      }
    }, 300);
    return () => clearTimeout(timer);
  }, [definition, sample, memberRef, eventType, attributes, base]);

  const save = async () => {
    setSaving(true);
    try {
      await api('POST', `${base}/rules`, { body: { ...definition, name: name || 'Untitled rule', status: 'draft' } });
      message.success(t('saved'));
      navigate('/rules');
    } catch (err) {
      message.error(err instanceof ApiError && err.status === 403 ? t('forbidden') : (err as Error).message);
    } finally {
      setSaving(false);
    }
  };

  const totals = Object.entries(preview?.totals ?? {}).filter(([, n]) => n !== 0);
  return (
    <Row gutter={16}>
      <Col span={15}>
        <Card title={t('newRule')}>
          <Form layout="vertical">
            <Row gutter={12}>
              <Col span={12}>
                <Form.Item label={t('ruleName')} htmlFor="rule-name">
                  <Input id="rule-name" value={name} onChange={(e) => setName(e.target.value)} />
                </Form.Item>
              </Col>
              <Col span={6}>
                <Form.Item label={t('eventType')} htmlFor="rule-event-type">
                  <select id="rule-event-type" className="ant-input" value={eventType} onChange={(e) => setEventType(e.target.value)}>
                    {(eventTypes.data?.data ?? []).map((e) => (
                      <option key={e.code} value={e.code}>
                        {e.code}
                      </option>
                    ))}
                  </select>
                </Form.Item>
              </Col>
              <Col span={6}>
                <Form.Item label={t('priority')} htmlFor="rule-priority">
                  <InputNumber id="rule-priority" value={priority} onChange={(v) => setPriority(Number(v ?? 0))} precision={0} style={{ width: '100%' }} />
                </Form.Item>
              </Col>
            </Row>
            <Row gutter={12}>
              <Col span={6}>
                <Form.Item label={t('stacking')} htmlFor="rule-stacking">
                  <select id="rule-stacking" className="ant-input" value={stacking} onChange={(e) => setStacking(e.target.value as 'cumulative')}>
                    <option value="cumulative">cumulative</option>
                    <option value="exclusive">exclusive</option>
                  </select>
                </Form.Item>
              </Col>
              <Col span={6}>
                <Form.Item label={t('rewardType')} htmlFor="rule-reward-type">
                  <select id="rule-reward-type" className="ant-input" value={rewardType} onChange={(e) => setRewardType(e.target.value as 'fixed')}>
                    <option value="fixed">{t('fixed')}</option>
                    <option value="perUnit">{t('perUnit')}</option>
                  </select>
                </Form.Item>
              </Col>
              <Col span={6}>
                <Form.Item label={t('pointType')} htmlFor="rule-point-type">
                  <select id="rule-point-type" className="ant-input" value={pointType} onChange={(e) => setPointType(e.target.value)}>
                    {(pointTypes.data?.data ?? []).map((p) => (
                      <option key={p.code} value={p.code}>
                        {p.code}
                      </option>
                    ))}
                  </select>
                </Form.Item>
              </Col>
              {rewardType === 'fixed' ? (
                <Col span={6}>
                  <Form.Item label={t('amount')} htmlFor="rule-amount">
                    <InputNumber id="rule-amount" value={amount} min={0} onChange={(v) => setAmount(Number(v ?? 0))} style={{ width: '100%' }} />
                  </Form.Item>
                </Col>
              ) : (
                <Col span={6}>
                  <Space.Compact>
                    <Form.Item label={t('attribute')} htmlFor="rule-attribute">
                      <select id="rule-attribute" className="ant-input" value={attribute} onChange={(e) => setAttribute(e.target.value)}>
                        {attributes.map(([a]) => (
                          <option key={a}>{a}</option>
                        ))}
                      </select>
                    </Form.Item>
                    <Form.Item label={t('rate')} htmlFor="rule-rate">
                      <Input id="rule-rate" value={rate} onChange={(e) => setRate(e.target.value)} style={{ width: 60 }} />
                    </Form.Item>
                    <Form.Item label={t('per')} htmlFor="rule-per">
                      <InputNumber id="rule-per" value={per} min={1} onChange={(v) => setPer(Number(v ?? 1))} style={{ width: 80 }} />
                    </Form.Item>
                  </Space.Compact>
                </Col>
              )}
            </Row>
            <Typography.Title level={5}>{t('condition')}</Typography.Title>
            <GroupEditor group={root} root={root} setRoot={setRoot} fields={fields} path="1" />
          </Form>
          <Space style={{ marginTop: 16 }}>
            <Button type="primary" onClick={save} loading={saving}>
              {t('saveDraft')}
            </Button>
            <Button onClick={() => navigate('/rules')}>{t('back')}</Button>
          </Space>
        </Card>
      </Col>
      <Col span={9}>
        <Card title={t('preview')} data-testid="preview">
          <Typography.Text strong>{t('sampleEvent')}</Typography.Text>
          <Form layout="vertical" style={{ marginTop: 8 }}>
            <Form.Item label={t('member')} htmlFor="sample-member">
              <select id="sample-member" className="ant-input" value={memberRef} onChange={(e) => setSampleMember(e.target.value)}>
                {(members.data?.data ?? []).map((m) => (
                  <option key={m.id} value={m.id}>
                    {m.name ?? m.externalId}
                  </option>
                ))}
              </select>
            </Form.Item>
            {attributes.slice(0, 8).map(([a, s]) => (
              <Form.Item key={a} label={`event.attributes.${a}`} htmlFor={`sample-${a}`} tooltip={s.description}>
                <Input id={`sample-${a}`} value={sample[a] ?? ''} onChange={(e) => setSample({ ...sample, [a]: e.target.value })} />
              </Form.Item>
            ))}
          </Form>
          {preview?.error && <Alert type="error" message={preview.error} />}
          {preview && !preview.error && (
            <div data-testid="preview-result">
              <Typography.Paragraph>
                {t('wouldEarn')}:{' '}
                <strong data-testid="preview-total">{totals.length ? totals.map(([pt, n]) => `${n} ${pt}`).join(', ') : t('nothing')}</strong>
              </Typography.Paragraph>
              {preview.trace && (
                <Descriptions size="small" column={1} bordered>
                  <Descriptions.Item label={t('outcome')}>
                    <Tag color={preview.trace.outcome === 'applied' ? 'green' : 'orange'}>{preview.trace.outcome}</Tag>
                  </Descriptions.Item>
                  {preview.trace.failed && <Descriptions.Item label={t('condition')}>{preview.trace.failed.message}</Descriptions.Item>}
                  {preview.trace.reason && <Descriptions.Item label={t('reason')}>{preview.trace.reason}</Descriptions.Item>}
                </Descriptions>
              )}
            </div>
          )}
        </Card>
      </Col>
    </Row>
  );
}
