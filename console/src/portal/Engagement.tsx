import { useMutation, useQuery } from '@tanstack/react-query';
import { Alert, Button, Card, Empty, List, Progress, Space, Tag, Typography } from 'antd';
import { useI18n } from '../shared/i18n.js';
import { api, errorText, useRefresh } from './client.js';

interface TierRef { code: string; name: string; colour: string | null }
interface Leaf { op: 'metric'; metric: string; value: number; min: number | null; remaining: number }
interface Group { op: 'all' | 'any'; items: Array<Leaf | Group> }
interface TierView { tier: TierRef | null; progress: { next: { tier: TierRef; met: boolean; conditions: Leaf | Group } | null } }
interface MemberTask { task: { id: string; name: string; description: string | null; claim: string; rewards: { points?: Array<{ pointType: string; amount: number }> } }; progress: number; target: number; status: string; claimable: boolean }
interface MemberMedal { medal: { id: string; name: string }; level: number; locked: boolean; levels: Array<{ level: number; name: string }>; next: { name: string; remaining: number; threshold: number } | null; value: number }

/** The first threshold still to reach (or the first one) of the next tier's qualification. */
function nextLeaf(node: Leaf | Group): Leaf | null {
  if (node.op === 'metric') return node;
  const leaves = node.items.map(nextLeaf).filter((l): l is Leaf => l !== null && l.min !== null);
  return leaves.find((l) => l.remaining > 0) ?? leaves[0] ?? null;
}

export function TierCard() {
  const { t } = useI18n();
  const data = useQuery({ queryKey: ['tier'], queryFn: () => api<{ tier: TierView | null }>('GET', '/v1/portal/me/tier') });
  const view = data.data?.tier;
  if (!view) return null;
  const next = view.progress.next;
  const leaf = next ? nextLeaf(next.conditions) : null;
  const percent = leaf && leaf.min ? Math.min(100, Math.round((leaf.value / leaf.min) * 100)) : 100;
  return (
    <Card size="small" className="tier-card" data-testid="tier-card">
      <Space direction="vertical" style={{ width: '100%' }}>
        <Space>
          <Typography.Text type="secondary">{t('myTier')}</Typography.Text>
          <Tag color={view.tier?.colour ?? '#2f6f4f'} data-testid="tier-name">
            {view.tier?.name ?? t('noTier')}
          </Tag>
        </Space>
        <Progress percent={percent} aria-label={t('myTier')} strokeColor={next?.tier.colour ?? '#2f6f4f'} />
        <Typography.Text data-testid="tier-next">{next && leaf ? t('toNextTier', { remaining: leaf.remaining.toLocaleString(), metric: leaf.metric, tier: next.tier.name }) : t('topTier')}</Typography.Text>
      </Space>
    </Card>
  );
}

const rewardText = (r: MemberTask['task']['rewards']) => (r.points ?? []).map((p) => `+${p.amount} ${p.pointType}`).join(', ');

export function Tasks() {
  const { t } = useI18n();
  const refresh = useRefresh();
  const tasks = useQuery({ queryKey: ['tasks'], queryFn: () => api<{ data: MemberTask[] }>('GET', '/v1/portal/me/tasks') });
  const claim = useMutation({ mutationFn: (taskId: string) => api('POST', `/v1/portal/me/tasks/${taskId}/claim`, { body: {} }), onSuccess: refresh });
  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      {claim.error && <Alert type="error" message={errorText(claim.error)} />}
      <List
        data-testid="tasks"
        loading={tasks.isLoading}
        dataSource={tasks.data?.data ?? []}
        locale={{ emptyText: <Empty description={t('empty')} /> }}
        renderItem={(m) => (
          <List.Item
            actions={
              m.claimable
                ? [
                    <Button key="claim" type="primary" size="small" loading={claim.isPending && claim.variables === m.task.id} onClick={() => claim.mutate(m.task.id)} aria-label={`${t('claimReward')} ${m.task.name}`}>
                      {t('claimReward')}
                    </Button>,
                  ]
                : m.status === 'rewarded' || m.status === 'completed'
                  ? [<Tag key="done" color="green">{t('completed')}</Tag>]
                  : []
            }
          >
            <List.Item.Meta title={m.task.name} description={rewardText(m.task.rewards)} />
            <Progress percent={Math.min(100, Math.round((m.progress / m.target) * 100))} format={() => `${m.progress}/${m.target}`} aria-label={m.task.name} style={{ width: 120 }} size="small" />
          </List.Item>
        )}
      />
    </Space>
  );
}

export function Medals() {
  const { t } = useI18n();
  const medals = useQuery({ queryKey: ['medals'], queryFn: () => api<{ data: MemberMedal[] }>('GET', '/v1/portal/me/medals') });
  const list = medals.data?.data ?? [];
  if (!medals.isLoading && list.length === 0) return <Empty description={t('empty')} />;
  return (
    <div className="medals" data-testid="medals">
      {list.map((m) => {
        const level = m.levels.find((l) => l.level === m.level);
        return (
          <div key={m.medal.id} className={`medal ${m.locked ? 'locked' : ''}`} data-locked={m.locked}>
            <div className="badge" aria-hidden="true">
              {m.locked ? '?' : m.level}
            </div>
            <div style={{ fontWeight: 600 }}>{m.medal.name}</div>
            <div style={{ fontSize: 12 }}>{m.locked ? t('locked') : level?.name}</div>
            {m.next && <div style={{ fontSize: 11, color: '#667' }}>{t('nextLevel', { remaining: m.next.remaining, level: m.next.name })}</div>}
          </div>
        );
      })}
    </div>
  );
}
