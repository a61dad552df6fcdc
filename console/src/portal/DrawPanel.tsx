import { useMutation, useQuery } from '@tanstack/react-query';
import { Alert, Button, Card, Empty, List, Space } from 'antd';
import { useState } from 'react';
import { useI18n } from '../shared/i18n.js';
import { api, errorText, useRefresh } from './client.js';
import { ANIMATION_MS, DrawStage, type Phase, type StagePrize } from './DrawStage.js';

interface Draw { id: string; name: string; presentation: string; costPoints: number; pointType: string; prizes: StagePrize[] }
interface Play { prize: { id: string; name: string; kind: string } | null }

const PLAY_LABEL: Record<string, 'spinWheel' | 'scratchHere' | 'openBox' | 'play'> = { wheel: 'spinWheel', scratch: 'scratchHere', blind_box: 'openBox' };

function DrawCard({ draw }: { draw: Draw }) {
  const { t } = useI18n();
  const refresh = useRefresh();
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
  const [result, setResult] = useState<{ prize: string | null } | null>(null);
  const play = useMutation({
    mutationFn: () => api<Play>('POST', `/v1/portal/me/draws/${draw.id}/plays`, { idempotent: true }),
    onMutate: () => {
      setResult(null);
      // Back to rest first, so a second play animates from the start again.
      setPhase({ kind: 'idle' });
    },
    onSuccess: async (res) => {
      const prizeId = res.prize?.id ?? null;
      await new Promise((r) => requestAnimationFrame(() => r(null)));
      setPhase({ kind: 'playing', prizeId });
      await new Promise((r) => setTimeout(r, ANIMATION_MS + 100));
      setPhase({ kind: 'shown', prizeId });
      setResult({ prize: res.prize && res.prize.kind !== 'thanks' ? res.prize.name : null });
      refresh();
    },
  });
  const busy = play.isPending || phase.kind === 'playing';
  return (
    <Card title={draw.name} size="small" data-presentation={draw.presentation}>
      <DrawStage presentation={draw.presentation} prizes={draw.prizes} phase={phase} />
      <List
        size="small"
        dataSource={draw.prizes}
        renderItem={(p) => (
          <List.Item>
            {p.name}{' '}
            <span>
              {t('odds')} {(p.probability * 100).toFixed(1)}%
            </span>
          </List.Item>
        )}
      />
      <Button type="primary" block onClick={() => play.mutate()} loading={busy} aria-label={`${t('play')} ${draw.name}`}>
        {t(PLAY_LABEL[draw.presentation] ?? 'play')} · {t('cost')} {draw.costPoints} {draw.pointType}
      </Button>
      {result && <Alert style={{ marginTop: 8 }} type={result.prize ? 'success' : 'info'} message={result.prize ? `${t('youWon')}: ${result.prize}` : t('noPrize')} data-testid="draw-result" role="status" />}
      {play.error && <Alert style={{ marginTop: 8 }} type="error" message={errorText(play.error)} />}
    </Card>
  );
}

export function DrawPanel() {
  const { t } = useI18n();
  const draws = useQuery({ queryKey: ['draws'], queryFn: () => api<{ data: Draw[] }>('GET', '/v1/portal/me/draws') });
  const list = draws.data?.data ?? [];
  if (list.length === 0) return <Empty description={t('empty')} />;
  return (
    <Space direction="vertical" style={{ width: '100%' }} data-testid="draws">
      {list.map((d) => (
        <DrawCard key={d.id} draw={d} />
      ))}
    </Space>
  );
}
