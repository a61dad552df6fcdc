import { QueryClient, QueryClientProvider, useQuery, useQueryClient } from '@tanstack/react-query';
import { App as AntApp, Button, ConfigProvider, Layout, Menu, Result, Space, Spin, Tag, Typography } from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import { useEffect, useState } from 'react';
import { ApiError } from '../shared/api.js';
import { I18nProvider, useI18n, type Lang } from '../shared/i18n.js';
import { api, navigate, setCsrf, type Program, type Session } from './client.js';
import { Dashboard } from './Dashboard.js';
import { Login } from './Login.js';
import { Member360 } from './Member360.js';
import { Members } from './Members.js';
import { RuleBuilder } from './RuleBuilder.js';
import { Rules } from './Rules.js';
import { ConsoleScopeProvider } from './kit/context.js';
import { SCREENS } from './screens/index.js';

const queryClient = new QueryClient({ defaultOptions: { queries: { retry: (n, err) => !(err instanceof ApiError && err.status < 500) && n < 2, staleTime: 5_000 } } });

export function ConsoleApp() {
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
    <ConfigProvider locale={lang === 'zh' ? zhCN : enUS} theme={{ token: { colorPrimary: '#2f6f4f' } }}>
      <AntApp>
        <Shell />
      </AntApp>
    </ConfigProvider>
  );
}

function useHash(): string {
  const [hash, setHash] = useState(() => window.location.hash.slice(1) || '/dashboard');
  useEffect(() => {
    const on = () => setHash(window.location.hash.slice(1) || '/dashboard');
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return hash;
}

export function LanguageSwitch() {
  const { lang, setLang, t } = useI18n();
  return (
    <label style={{ display: 'inline-flex', gap: 6, alignItems: 'center' }}>
      <span>{t('language')}</span>
      <select aria-label={t('language')} data-testid="language" value={lang} onChange={(e) => setLang(e.target.value as Lang)}>
        <option value="en">English</option>
        <option value="zh">简体中文</option>
      </select>
    </label>
  );
}

function Shell() {
  const client = useQueryClient();
  const session = useQuery({
    queryKey: ['session'],
    queryFn: async () => {
      try {
        const s = await api<Session>('GET', '/v1/console/session');
        setCsrf(s.csrfToken);
        return s;
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) return null;
        throw err;
      }
    },
  });
  if (session.isLoading) return <Spin style={{ margin: 80 }} />;
  if (!session.data) return <Login onSignedIn={(s) => { setCsrf(s.csrfToken); client.setQueryData(['session'], s); }} />;
  return <Signed session={session.data} />;
}

function Signed({ session }: { session: Session }) {
  const { t } = useI18n();
  const hash = useHash();
  const programs = useQuery({ queryKey: ['programs'], queryFn: () => api<{ data: Program[] }>('GET', '/v1/programs?limit=100') });
  const [programId, setProgramId] = useState<string | null>(() => localStorage.getItem('laurel.program'));
  const list = programs.data?.data ?? [];
  const program = list.find((p) => p.id === programId) ?? list[0] ?? null;

  const signOut = async () => {
    await api('DELETE', '/v1/console/session').catch(() => undefined);
    setCsrf(null);
    // A fresh page: nothing of the signed-out operator's data stays in memory.
    window.location.assign('/console/');
  };

  const [section, id] = hash.split('/').filter(Boolean);
  let page: JSX.Element;
  if (!program) page = programs.isLoading ? <Spin /> : <Result status="info" title={t('empty')} />;
  else if (section === 'members' && id) page = <Member360 program={program} memberId={id} role={session.operator.role} />;
  else if (section === 'members') page = <Members program={program} />;
  else if (section === 'rules' && id === 'new') page = <RuleBuilder program={program} />;
  else if (section === 'rules') page = <Rules program={program} role={session.operator.role} />;
  else {
    const screen = SCREENS.find((s) => s.key === section);
    page = screen ? <screen.Component key={program.id} /> : <Dashboard program={program} />;
  }
  const groups = [...new Set(SCREENS.map((s) => s.group))];

  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Layout.Sider breakpoint="lg" collapsedWidth={0} theme="light">
        <Typography.Title level={4} style={{ padding: '16px 16px 0' }}>
          Laurel
        </Typography.Title>
        <Menu
          mode="inline"
          selectedKeys={[section ?? 'dashboard']}
          onClick={(e) => navigate(`/${e.key}`)}
          items={[
            { key: 'dashboard', label: t('dashboard') },
            { key: 'members', label: t('members') },
            { key: 'rules', label: t('rules') },
            ...groups.map((g) => ({ key: g, type: 'group' as const, label: t(g), children: SCREENS.filter((s) => s.group === g).map((s) => ({ key: s.key, label: t(s.label) })) })),
          ]}
        />
      </Layout.Sider>
      <Layout>
        <Layout.Header style={{ background: '#fff', display: 'flex', gap: 16, alignItems: 'center', justifyContent: 'space-between', paddingInline: 24 }}>
          <label style={{ display: 'inline-flex', gap: 6, alignItems: 'center' }}>
            <span>{t('program')}</span>
            <select
              aria-label={t('program')}
              data-testid="program"
              value={program?.id ?? ''}
              onChange={(e) => {
                localStorage.setItem('laurel.program', e.target.value);
                setProgramId(e.target.value);
              }}
            >
              {list.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name} ({p.id})
                </option>
              ))}
            </select>
          </label>
          <Space>
            <LanguageSwitch />
            <span data-testid="operator">
              {session.operator.displayName ?? session.operator.username} <Tag>{session.operator.role}</Tag>
            </span>
            <Button onClick={signOut}>{t('signOut')}</Button>
          </Space>
        </Layout.Header>
        <Layout.Content style={{ padding: 24 }}>{program ? <ConsoleScopeProvider value={{ program, role: session.operator.role }}>{page}</ConsoleScopeProvider> : page}</Layout.Content>
      </Layout>
    </Layout>
  );
}
