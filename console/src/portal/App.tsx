import { QueryClient, QueryClientProvider, useMutation, useQuery } from '@tanstack/react-query';
import { App as AntApp, Alert, Button, Card, ConfigProvider, Empty, Form, Input, List, Progress, Space, Statistic, Tabs, Tag, Typography } from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import { useState } from 'react';
import { ApiError, formatDate, formatPoints } from '../shared/api.js';
import { CheckinCalendar, type CalendarDay } from '../shared/CheckinCalendar.js';
import { I18nProvider, useI18n, type Lang } from '../shared/i18n.js';
import './portal.css';

import { api, channel, errorText, getToken, setToken as storeToken, useRefresh } from './client.js';
import { DrawPanel } from './DrawPanel.js';
import { Medals, Tasks, TierCard } from './Engagement.js';

const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: 2_000 } } });

export function PortalApp() {
  return (
    <QueryClientProvider client={queryClient}>
      <I18nProvider>
        <Localised />
      </I18nProvider>
    </QueryClientProvider>
  );
}

function Localised() {
  const { lang } = useI18n();
  return (
    <ConfigProvider locale={lang === 'zh' ? zhCN : enUS} theme={{ token: { colorPrimary: '#2f6f4f', borderRadius: 10 } }}>
      <AntApp>
        <Portal />
      </AntApp>
    </ConfigProvider>
  );
}

function LanguageSwitch() {
  const { lang, setLang, t } = useI18n();
  return (
    <label className="lang">
      <span className="sr-only">{t('language')}</span>
      <select aria-label={t('language')} data-testid="language" value={lang} onChange={(e) => setLang(e.target.value as Lang)}>
        <option value="en">EN</option>
        <option value="zh">中文</option>
      </select>
    </label>
  );
}

interface Me { program: { id: string; name: string }; member: { id: string; name: string | null; externalId: string } }
interface Balance { pointType: string; kind: string; decimals: number; available: number; pending: number; expiring: Array<{ expiresAt: string; amount: number }> }

function SignIn({ onToken }: { onToken(t: string): void }) {
  const { t } = useI18n();
  return (
    <Card title={t('appPortal')}>
      <Typography.Paragraph>{t('portalSignInHelp')}</Typography.Paragraph>
      <Form layout="vertical" onFinish={(v: { token: string }) => onToken(v.token.trim())}>
        <Form.Item label={t('portalToken')} name="token" rules={[{ required: true }]}>
          <Input.TextArea rows={3} />
        </Form.Item>
        <Button type="primary" htmlType="submit" block>
          {t('signIn')}
        </Button>
      </Form>
    </Card>
  );
}

function Portal() {
  const { t } = useI18n();
  const [, rerender] = useState(0);
  const token = getToken();
  const me = useQuery({ queryKey: ['me', token], queryFn: () => api<Me>('GET', '/v1/portal/me'), enabled: !!token });
  const setToken = (next: string | null) => {
    storeToken(next);
    queryClient.clear();
    rerender((n) => n + 1);
  };
  const expired = me.error instanceof ApiError && me.error.status === 401;
  return (
    <div className="portal">
      <header className="bar">
        <strong>{me.data?.program.name ?? t('appPortal')}</strong>
        <LanguageSwitch />
      </header>
      <main>
        {!token || expired ? (
          <>
            {expired && <Alert type="warning" message={(me.error as Error).message} style={{ marginBottom: 12 }} />}
            <SignIn onToken={setToken} />
          </>
        ) : me.data ? (
          <Home me={me.data} />
        ) : (
          <Card loading />
        )}
      </main>
    </div>
  );
}

function Home({ me }: { me: Me }) {
  const { t } = useI18n();
  const balances = useQuery({ queryKey: ['balances'], queryFn: () => api<{ balances: Balance[] }>('GET', '/v1/portal/me/balances') });
  const points = balances.data?.balances.find((b) => b.kind === 'redeemable') ?? balances.data?.balances[0];
  return (
    <Space direction="vertical" size={12} style={{ width: '100%' }}>
      <Card className="hero" data-testid="points-card">
        <Typography.Text style={{ color: '#dfeee5' }}>{me.member.name ?? me.member.externalId}</Typography.Text>
        <Statistic title={<span style={{ color: '#dfeee5' }}>{t('myPoints')}</span>} value={points ? formatPoints(points.available, points.decimals) : '—'} valueStyle={{ color: '#fff', fontSize: 40 }} />
        {points && points.expiring.length > 0 ? (
          <div data-testid="expiring">
            {points.expiring.slice(0, 3).map((e) => (
              <div key={e.expiresAt} style={{ color: '#dfeee5', fontSize: 13 }}>
                {t('expiresSoon')}: {formatPoints(e.amount, points.decimals)} · {formatDate(e.expiresAt)}
              </div>
            ))}
          </div>
        ) : (
          <div style={{ color: '#dfeee5', fontSize: 13 }}>{t('noExpiring')}</div>
        )}
      </Card>
      <TierCard />
      <Tabs
        className="portal-tabs"
        tabBarGutter={12}
        items={[
          { key: 'checkin', label: t('checkIn'), children: <CheckIn /> },
          { key: 'tasks', label: t('tasks'), children: <Tasks /> },
          { key: 'medals', label: t('medals'), children: <Medals /> },
          { key: 'mall', label: t('mall'), children: <Mall /> },
          { key: 'draw', label: t('draw'), children: <DrawPanel /> },
          { key: 'history', label: t('history'), children: <History /> },
        ]}
      />
    </Space>
  );
}

function CheckIn() {
  const { t } = useI18n();
  const refresh = useRefresh();
  const data = useQuery({
    queryKey: ['checkins'],
    queryFn: () => api<{ summary: { checkedInToday: boolean; currentStreak: number; longestStreak: number; next: { rewards: Array<{ pointType: string; amount: number }> } | null }; calendar: { month: string; days: CalendarDay[] } }>('GET', '/v1/portal/me/check-ins'),
  });
  const checkIn = useMutation({ mutationFn: () => api('POST', '/v1/portal/me/check-ins'), onSuccess: refresh });
  if (data.error) return <Alert type="info" message={errorText(data.error)} />;
  const s = data.data?.summary;
  const next = s?.next?.rewards.map((r) => `+${r.amount} ${r.pointType}`).join(', ');
  return (
    <Card loading={data.isLoading} data-testid="checkin">
      {s && (
        <Space direction="vertical" style={{ width: '100%' }}>
          <Space size={24}>
            <Statistic title={t('streak')} value={s.currentStreak} suffix={t('days')} />
            <Statistic title={t('longestStreak')} value={s.longestStreak} suffix={t('days')} />
          </Space>
          <Progress percent={Math.min(100, Math.round((s.currentStreak / 7) * 100))} showInfo={false} aria-label={t('streak')} />
          {next && (
            <Typography.Text type="secondary">
              {t('nextReward')}: {next}
            </Typography.Text>
          )}
          <Button type="primary" size="large" block disabled={s.checkedInToday} loading={checkIn.isPending} onClick={() => checkIn.mutate()}>
            {s.checkedInToday ? t('checkedIn') : t('checkIn')}
          </Button>
          {checkIn.error && <Alert type="error" message={errorText(checkIn.error)} />}
          {data.data && <CheckinCalendar month={data.data.calendar.month} days={data.data.calendar.days} />}
        </Space>
      )}
    </Card>
  );
}

interface Item { id: string; name: string; description: string | null; images: string[]; availableNow: boolean; skus: Array<{ id: string; name: string; currentPointsPrice: number | null; stock: number | null }> }
interface Banner { imageUrl: string; title: string; linkUrl: string | null }

/** The channel's banners active now, above the mall. */
function Banners({ banners }: { banners: Banner[] }) {
  if (!banners.length) return null;
  return (
    <div data-testid="banners" style={{ display: 'flex', gap: 8, overflowX: 'auto' }}>
      {banners.map((b, i) => {
        const body = (
          <figure style={{ margin: 0, minWidth: 240 }}>
            <img src={b.imageUrl} alt="" style={{ width: '100%', height: 96, objectFit: 'cover', borderRadius: 10 }} />
            <figcaption>{b.title}</figcaption>
          </figure>
        );
        return b.linkUrl ? (
          <a key={i} href={b.linkUrl} target="_blank" rel="noreferrer">
            {body}
          </a>
        ) : (
          <div key={i}>{body}</div>
        );
      })}
    </div>
  );
}

function Mall() {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  const refresh = useRefresh();
  // The channel's page: its banners and the shelf in the order the channel configured.
  const page = useQuery({ queryKey: ['items', channel], queryFn: () => api<{ banners: Banner[]; items: Item[] }>('GET', `/v1/portal/me/page?channel=${channel}`) });
  const orders = useQuery({ queryKey: ['orders'], queryFn: () => api<{ data: Array<{ id: string; status: string; pointsTotal: number; placedAt: string }> }>('GET', '/v1/portal/me/orders?limit=20') });
  const order = useMutation({
    mutationFn: (skuId: string) => api('POST', '/v1/portal/me/orders', { body: { lines: [{ skuId, quantity: 1 }] }, idempotent: true }),
    onSuccess: () => {
      message.success(t('ordered'));
      refresh();
    },
    onError: (err) => message.error(errorText(err)),
  });
  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      <Banners banners={page.data?.banners ?? []} />
      <List
        data-testid="mall"
        loading={page.isLoading}
        dataSource={page.data?.items ?? []}
        locale={{ emptyText: <Empty description={t('empty')} /> }}
        renderItem={(item) => {
          const sku = item.skus.find((s) => s.currentPointsPrice !== null);
          const soldOut = !sku || sku.stock === 0;
          return (
            <List.Item
              actions={[
                <Button key="order" type="primary" disabled={soldOut} loading={order.isPending && order.variables === sku?.id} onClick={() => sku && order.mutate(sku.id)} aria-label={`${t('order')} ${item.name}`}>
                  {soldOut ? t('outOfStock') : t('order')}
                </Button>,
              ]}
            >
              <List.Item.Meta
                avatar={item.images[0] ? <img src={item.images[0]} alt="" width={48} height={48} style={{ borderRadius: 8, objectFit: 'cover' }} /> : <div className="thumb">🎁</div>}
                title={item.name}
                description={sku ? `${sku.currentPointsPrice} ${t('points')}` : ''}
              />
            </List.Item>
          );
        }}
      />
      <Card size="small" title={t('orders')}>
        <List
          data-testid="my-orders"
          size="small"
          dataSource={orders.data?.data ?? []}
          locale={{ emptyText: t('empty') }}
          renderItem={(o) => (
            <List.Item>
              <span>{formatDate(o.placedAt)}</span>
              <Tag>{o.status}</Tag>
              <span>-{o.pointsTotal}</span>
            </List.Item>
          )}
        />
      </Card>
    </Space>
  );
}

function History() {
  const { t } = useI18n();
  const ledger = useQuery({ queryKey: ['ledger'], queryFn: () => api<{ data: Array<{ entryId: number; kind: string; amount: number; pointType: string; occurredAt: string; reason: string | null }> }>('GET', '/v1/portal/me/ledger?limit=50') });
  return (
    <List
      data-testid="history"
      loading={ledger.isLoading}
      dataSource={ledger.data?.data ?? []}
      locale={{ emptyText: t('empty') }}
      renderItem={(e) => (
        <List.Item>
          <List.Item.Meta title={<Tag>{e.kind}</Tag>} description={`${formatDate(e.occurredAt)}${e.reason ? ` · ${e.reason}` : ''}`} />
          <strong style={{ color: e.amount < 0 ? '#c0392b' : '#2f6f4f' }}>
            {e.amount > 0 ? '+' : ''}
            {e.amount} {e.pointType}
          </strong>
        </List.Item>
      )}
    />
  );
}
