/**
 * The console and the portal end to end, in Debian's headless Chromium driven by playwright-core:
 * an operator builds a rule with the condition builder, previews and activates it; an event
 * arrives through the API; the member sees the points in the portal, checks in, orders and plays
 * a draw; the operator sees it all in the member 360 view, then walks through every configuration
 * screen (a point type with an expiry policy made in a form, the tier ladder's picture, draw odds,
 * a webhook redelivered, reports with CSV, a bulk credit with progress). A viewer cannot change
 * anything. Every form field has a label. Screenshots of each main screen go to .tmp/screenshots/.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OperatorsService } from '../../src/modules/operators/index.js';
import { createTestLaurel, type TestLaurel } from '../harness.js';

const ROOT = process.cwd();
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, '.tmp', 'screenshots');
const BUILT = join(ROOT, 'dist', 'console', 'console.html');

function newest(dir: string): number {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    max = Math.max(max, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return max;
}

/** Build the console when it is missing or older than its sources (a fresh clone, a changed screen). */
function ensureConsoleBuilt(): void {
  if (existsSync(BUILT) && statSync(BUILT).mtimeMs >= newest(join(ROOT, 'console'))) return;
  const res = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'console/vite.config.ts', '--logLevel', 'warn'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NODE_ENV: 'production' } });
  if (res.status !== 0) throw new Error(`vite build failed:\n${res.stdout}\n${res.stderr}`);
}

/** Polls patiently: the machine is shared, and a busy one answers a browser in seconds, not milliseconds. */
const poll = <T>(fn: () => T | Promise<T>, options: { timeout?: number } = {}) => expect.poll(fn, { timeout: 10_000, ...options });

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Every input, select and textarea on the page has a label (a <label>, aria-label or aria-labelledby). */
async function unlabelled(page: Page): Promise<string[]> {
  // Runs in the page: the root tsconfig has no DOM types, so the browser's globals are reached loosely.
  return page.evaluate(() => {
    const doc = (globalThis as any).document;
    return [...doc.querySelectorAll('input:not([type=hidden]), select, textarea')]
      .filter((el: any) => el.offsetParent !== null || el.type === 'radio')
      .filter((el: any) => !(el.labels && el.labels.length > 0) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
      .map((el: any) => String(el.outerHTML).slice(0, 120));
  });
}

describe.skipIf(!existsSync(CHROMIUM))('console and portal in Chromium', () => {
  let t: TestLaurel;
  let browser: Browser;
  let base: string;
  let programId: string;
  let key: string;
  let memberId: string;
  const adminPassword = 'correct horse battery';
  const viewerPassword = 'viewer password 1';

  beforeAll(async () => {
    ensureConsoleBuilt();
    mkdirSync(ARTIFACTS, { recursive: true });
    t = await createTestLaurel('pglite');
    const operators = t.laurel.services.operators as OperatorsService;
    await operators.create({ username: 'ada', password: adminPassword, role: 'admin', displayName: 'Ada' });
    await operators.create({ username: 'vic', password: viewerPassword, role: 'viewer' });
    base = (await t.laurel.http.listen({ port: 0, host: '127.0.0.1' })).replace('[::1]', 'localhost');

    const created = await t.createProgram({ name: 'Tea House', mode: 'live', timeZone: 'Asia/Shanghai' });
    programId = created.program.id;
    key = created.key;
    const p = `/v1/programs/${programId}`;
    const call = async (method: string, url: string, body?: unknown, headers?: Record<string, string>) => {
      const res = await t.api(method, `${p}${url}`, { key, body, ...(headers ? { headers } : {}) });
      if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    };
    memberId = (await call('POST', '/members', { externalId: 'alice', name: 'Alice Li', tags: ['tea'] })).id;
    await call('POST', '/members', { externalId: 'bob', name: 'Bob Wang' });
    await call('PUT', '/check-in-schedule', { cycle: 'weekly', rewards: [5, 5, 10, 10, 15, 15, 50] });
    await call('POST', '/mall/items', { kind: 'virtual', name: 'Tea voucher', onShelf: true, skus: [{ code: 'tv', name: 'Tea voucher', pointsPrice: 20, stock: 10 }] });
    await call('PUT', '/tiers', {
      metrics: [{ code: 'spend', name: 'Spend', source: { kind: 'event', eventTypes: ['purchase'], attribute: 'amount' } }],
      tiers: [{ code: 'green', name: 'Green' }, { code: 'gold', name: 'Gold', colour: '#d4a72c', qualification: { metric: 'spend', window: { kind: 'rollingMonths', months: 12 }, min: 50_000 } }],
    });
    await call('POST', '/tasks', { code: 'tea3', name: 'Three tea orders', recurrence: 'monthly', eventType: 'purchase', target: 3, rewards: { points: [{ pointType: 'points', amount: 30 }] } });
    await call('POST', '/medals', { code: 'regular', name: 'Regular', criterion: { kind: 'event_count', eventType: 'purchase' }, levels: [{ name: 'Bronze', threshold: 1 }, { name: 'Silver', threshold: 5 }] });
    await call('POST', '/benefits', { code: 'freeship', name: 'Free shipping', kind: 'free_shipping', validityDays: 30 });
    const hook = await call('POST', '/webhooks', { url: 'http://127.0.0.1:9/hook', eventTypes: ['*'] });
    await call('POST', `/webhooks/${hook.id}/ping`, {});
    await call('POST', '/draws', {
      code: 'wheel', name: 'Lucky wheel', presentation: 'wheel', costPoints: 5, status: 'active',
      prizes: [{ name: '10 points', kind: 'points', weight: 100, points: 10 }, { name: 'Thanks', kind: 'thanks', weight: 0, fallback: true }],
    });

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('operator builds and activates a rule; the member earns, checks in, orders and plays in the portal; the 360 view shows it', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const shot = (name: string, p: Page = page) => p.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
    try {

    // Sign in.
    await page.goto(`${base}/console`);
    await page.getByLabel('Username').fill('ada');
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await poll(() => page.getByText('wrong username or password').isVisible()).toBe(true);
    expect(await unlabelled(page)).toEqual([]);
    await shot('console-login');
    await page.getByLabel('Password').fill(adminPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Available points by member (top 10)').waitFor();
    await page.getByLabel('Program').selectOption(programId);
    const cookie = (await context.cookies()).find((c) => c.name === 'laurel_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });

    // The condition builder: amount ≥ 5000 and (city is Shanghai or Beijing); 50 points.
    await page.goto(`${base}/console/#/rules/new`);
    await page.getByLabel('Rule name').fill('Big tea order');
    await page.getByLabel('Amount', { exact: true }).fill('50');
    await page.getByRole('button', { name: 'Add condition' }).click();
    await page.getByLabel('Field 1.1').selectOption('event.attributes.amount');
    await page.getByLabel('Operator 1.1').selectOption('gte');
    await page.getByLabel('Value 1.1').fill('5000');
    await page.getByRole('button', { name: 'Add group' }).click();
    await page.getByRole('button', { name: 'Add condition' }).nth(1).click();
    await page.getByLabel('Field 1.2.1').selectOption('event.attributes.city');
    await page.getByLabel('Operator 1.2.1').selectOption('in');
    await page.getByLabel('Value 1.2.1').fill('Shanghai, Beijing');
    await page.getByLabel('event.attributes.amount').fill('12000');
    await page.getByLabel('event.attributes.city').fill('Shanghai');
    await poll(() => page.getByTestId('preview-total').textContent(), { timeout: 10_000 }).toBe('50 points');
    // The live preview follows the sample: a small order earns nothing, and says why.
    await page.getByLabel('event.attributes.amount').fill('100');
    await poll(() => page.getByTestId('preview-total').textContent(), { timeout: 10_000 }).toBe('nothing');
    await page.getByLabel('event.attributes.amount').fill('12000');
    await poll(() => page.getByTestId('preview-total').textContent(), { timeout: 10_000 }).toBe('50 points');
    expect(await unlabelled(page)).toEqual([]);
    await shot('console-rule-builder');
    await page.getByRole('button', { name: 'Save as draft' }).click();
    await page.getByRole('button', { name: 'Activate Big tea order' }).click();
    await page.getByRole('button', { name: 'Pause Big tea order' }).waitFor();
    await shot('console-rules');
    const rules = await t.api('GET', `/v1/programs/${programId}/rules`, { key });
    expect(rules.body.data[0]).toMatchObject({ name: 'Big tea order', status: 'active' });
    expect(rules.body.data[0].definition.condition).toEqual({
      all: [{ field: 'event.attributes.amount', op: 'gte', value: 5000 }, { any: [{ field: 'event.attributes.city', op: 'in', value: ['Shanghai', 'Beijing'] }] }],
    });

    // The host platform reports a purchase, then hands the member a portal token.
    const event = await t.api('POST', `/v1/programs/${programId}/events`, { key, body: { eventId: 'order-1', member: 'ext:alice', type: 'purchase', attributes: { amount: 12_000, city: 'Shanghai' } } });
    expect(event.body).toMatchObject({ status: 'processed', totals: { points: 50 } });
    const issued = await t.api('POST', `/v1/programs/${programId}/members/ext:alice/portal-tokens`, { key, body: {} });
    expect(issued.status).toBe(201);

    // The portal, on a phone-sized screen.
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const portal = await phone.newPage();
    await portal.goto(`${base}${issued.body.portalUrl}`);
    await poll(() => portal.getByTestId('points-card').textContent()).toContain('50');
    await portal.getByRole('button', { name: 'Check in' }).click();
    await portal.getByRole('button', { name: 'Checked in today' }).waitFor();
    await poll(() => portal.getByTestId('points-card').textContent()).toContain('55');
    expect(await unlabelled(portal)).toEqual([]);
    await shot('portal-home', portal);
    await portal.getByRole('tab', { name: 'Mall' }).click();
    await portal.getByRole('button', { name: 'Order Tea voucher' }).click();
    await portal.getByText('Order placed').waitFor();
    await poll(() => portal.getByTestId('points-card').textContent()).toContain('35');
    await shot('portal-mall', portal);
    await portal.getByRole('tab', { name: 'Lucky draw' }).click();
    await portal.getByRole('button', { name: /Play/ }).click();
    await poll(() => portal.getByTestId('draw-result').textContent(), { timeout: 10_000 }).toContain('10 points');
    await poll(() => portal.getByTestId('points-card').textContent()).toContain('40');
    await shot('portal-draw', portal);
    await portal.getByRole('tab', { name: 'History' }).click();
    await portal.getByTestId('history').getByText('+50 points').waitFor();
    // Tier and progress: 12,000 of the 50,000 spend Gold asks for.
    await poll(() => portal.getByTestId('tier-next').textContent()).toBe('38,000 more spend to Gold');
    await portal.getByRole('tab', { name: 'Tasks' }).click();
    await portal.getByTestId('tasks').getByText('1/3').waitFor();
    await portal.getByRole('tab', { name: 'Medals' }).click();
    await portal.getByTestId('medals').getByText('4 more to Silver').waitFor();
    await shot('portal-medals', portal);
    // Simplified Chinese.
    await portal.getByLabel('Language').selectOption('zh');
    await portal.getByText('我的积分').waitFor();
    await shot('portal-history-zh', portal);
    await phone.close();

    // The member 360 view: balance, the rule that paid, the check-in, the order; then an adjustment.
    await page.goto(`${base}/console/#/members/${memberId}`);
    await page.getByText(/Big tea order v\d+: \+50/).waitFor();
    await poll(() => page.getByTestId('balance-points').textContent()).toContain('40');
    expect(await page.locator('[data-status="checked"]').count()).toBe(1);
    await page.getByRole('cell', { name: 'paid' }).or(page.getByRole('cell', { name: 'fulfilled' })).or(page.getByRole('cell', { name: 'completed' })).first().waitFor();
    await page.getByLabel('Amount (negative to debit)').fill('7');
    await page.getByLabel('Reason').fill('Goodwill for a late delivery');
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.getByText('Goodwill for a late delivery').first().waitFor();
    await poll(() => page.getByTestId('balance-points').textContent()).toContain('47');
    expect(await unlabelled(page)).toEqual([]);
    await shot('console-member-360');
    await page.getByLabel('Language').selectOption('zh');
    await page.getByText('积分流水').waitFor();
    await shot('console-member-360-zh');
    await page.getByLabel('语言').selectOption('en');

    // The dashboard counts what happened.
    await page.goto(`${base}/console/#/dashboard`);
    await page.getByText('Available points by member (top 10)').waitFor();
    await page.locator('svg').first().waitFor();
    await shot('console-dashboard');

    // Every configuration screen: it renders, every field is labelled, and a screenshot is kept.
    const screen = async (route: string, ready: () => Locator | Promise<unknown>) => {
      await page.goto(`${base}/console/#/${route}`);
      const r = ready();
      await (r instanceof Promise ? r : r.first().waitFor());
      expect(await unlabelled(page), route).toEqual([]);
      await shot(`console-${route}`);
    };
    // A point type with an expiry policy, made in the drawer's form.
    await screen('point-types', () => page.getByRole('cell', { name: 'Growth value' }));
    await page.getByRole('button', { name: 'New' }).click();
    await page.getByLabel('Code').fill('stars');
    await page.getByLabel('Name', { exact: true }).fill('Stars');
    await page.getByLabel('Expiry policy').selectOption('afterDays');
    await page.getByLabel('Days', { exact: true }).fill('365');
    expect(await unlabelled(page)).toEqual([]);
    await shot('console-point-type-form');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('cell', { name: '365 days after earning' }).waitFor();
    const stars = (await t.api('GET', `/v1/programs/${programId}/point-types`, { key })).body.data.find((x: { code: string }) => x.code === 'stars');
    expect(stars.expiryPolicy).toEqual({ kind: 'afterDays', days: 365, roundTo: 'endOfDay' });
    await screen('event-types', () => page.getByRole('cell', { name: 'purchase', exact: true }));
    await screen('campaigns', () => page.getByTestId('campaigns'));
    await screen('tiers', () => page.getByTestId('ladder-picture').getByText('≥ 50,000 Spend / 12m'));
    await screen('benefits', () => page.getByRole('cell', { name: 'freeship' }));
    await screen('check-in', async () => expect.poll(() => page.getByLabel('Rewards by day').inputValue()).toBe('5, 5, 10, 10, 15, 15, 50'));
    await screen('tasks', () => page.getByRole('cell', { name: 'tea3' }));
    await screen('medals', () => page.getByRole('cell', { name: 'regular' }));
    await screen('mall-items', () => page.getByRole('cell', { name: 'Tea voucher' }));
    await screen('orders', () => page.getByTestId('mall-orders').getByRole('cell', { name: 'fulfilled' }).or(page.getByTestId('mall-orders').getByRole('cell', { name: 'completed' })));
    // The draw's published odds as a pie.
    await screen('draws', () => page.getByRole('cell', { name: 'Lucky wheel' }));
    await page.getByRole('button', { name: 'Expand row' }).first().click();
    await page.getByRole('img', { name: 'Odds Lucky wheel' }).locator('svg').waitFor();
    await shot('console-draw-odds');
    // A webhook's delivery log, and a delivery sent again.
    await screen('webhooks', () => page.getByRole('cell', { name: 'http://127.0.0.1:9/hook' }));
    await page.getByRole('button', { name: 'Expand row' }).first().click();
    await page.getByTestId('deliveries').getByRole('cell', { name: 'webhook.test' }).waitFor();
    await page.getByRole('button', { name: /^Redeliver / }).first().click();
    await page.getByText('Done').first().waitFor();
    await shot('console-webhook-deliveries');
    await screen('api-keys', () => page.getByRole('cell', { name: 'test key' }));
    await screen('audit-log', () => page.getByTestId('audit-log').getByRole('cell', { name: 'adjustment' }));
    await page.getByLabel('Resource').fill('webhook');
    await page.getByRole('button', { name: 'Filter' }).click();
    await poll(async () => [...new Set(await page.getByTestId('audit-log').locator('tbody td:nth-child(5)').allTextContents())]).toEqual(['webhook']);
    // Reports with charts; the CSV behind the download link.
    await screen('reports', () => page.getByTestId('report-points').locator('svg'));
    const csvHref = await page.getByRole('link', { name: /Download CSV: Points/ }).getAttribute('href');
    const csv = await page.evaluate(async (url) => { const r = await fetch(url!); return { type: r.headers.get('content-type'), text: await r.text() }; }, csvHref);
    expect(csv.type).toContain('text/csv');
    expect(csv.text.split(/\r?\n/)[0]).toBe('period,pointType,issued,spent,refunded,expired,reversed,adjusted,netChange,outstanding,pendingOutstanding');
    // A bulk credit in batches, with progress.
    await screen('imports', () => page.getByTestId('bulk-credits'));
    await page.getByLabel('CSV text').first().fill('externalId,pointType,amount,reason\nalice,points,3,Bulk A\nbob,points,4,Bulk B\nnobody,points,5,Bulk C');
    await page.getByRole('button', { name: 'Start import' }).first().click();
    await poll(() => page.getByTestId('bulk-credits-result').textContent()).toContain('2 done, 1 failed');
    await page.getByRole('progressbar', { name: 'Progress' }).first().waitFor();
    await shot('console-imports');
    await page.getByLabel('Language').selectOption('zh');
    await page.getByText('批量发放积分').waitFor();
    await shot('console-imports-zh');
    await page.getByLabel('语言').selectOption('en');

    // A console write without the session's CSRF token is refused.
    const noCsrf = await page.evaluate(async (url) => (await fetch(url, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"name":"x"}' })).status, `/v1/programs/${programId}/rules/${rules.body.data[0].id}`);
    expect(noCsrf).toBe(403);
    // Sign out ends the session.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Username').waitFor();
    expect(await page.evaluate(async () => (await fetch('/v1/console/session')).status)).toBe(401);
    } catch (err) {
      for (const [i, p] of context.pages().entries()) await shot(`failure-${i}`, p).catch(() => undefined);
      throw err;
    } finally {
      await context.close();
    }
  }, 120_000);

  it('a viewer sees the console but cannot change anything', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(`${base}/console`);
    await page.getByLabel('Username').fill('vic');
    await page.getByLabel('Password').fill(viewerPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Available points by member (top 10)').waitFor();
    await page.goto(`${base}/console/#/members/${memberId}`);
    await page.getByText(/Big tea order v\d+: \+50/).waitFor();
    await shot(page, 'console-viewer-360');
    // No write is offered on the configuration screens; forms are read-only.
    for (const route of ['point-types', 'campaigns', 'mall-items', 'draws', 'webhooks']) {
      await page.goto(`${base}/console/#/${route}`);
      await page.locator('tbody tr.ant-table-row').first().or(page.locator('.ant-empty')).first().waitFor();
      expect(await page.getByRole('button', { name: /^(New|Edit|Redeliver|Send test|Delete|Restock)\b/ }).count(), route).toBe(0);
    }
    await page.goto(`${base}/console/#/check-in`);
    await poll(() => page.getByLabel('Rewards by day').inputValue()).toBe('5, 5, 10, 10, 15, 15, 50');
    expect(await page.getByLabel('Rewards by day').isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Save' }).count()).toBe(0);
    await page.goto(`${base}/console/#/imports`);
    expect(await page.getByRole('button', { name: 'Start import' }).count()).toBe(0);
    // API keys are for admins to read too: the screen says so instead of showing an empty list.
    await page.goto(`${base}/console/#/api-keys`);
    await page.getByText('You are not allowed to do this').waitFor();
    await shot(page, 'console-viewer-config');
    // Writes with a valid session and CSRF token: still 403 for the viewer.
    const statuses = await page.evaluate(
      async ({ p, m }) => {
        const { csrfToken } = (await (await fetch('/v1/console/session')).json()) as { csrfToken: string };
        const headers = { 'content-type': 'application/json', 'x-csrf-token': csrfToken, 'idempotency-key': crypto.randomUUID() };
        const adjust = await fetch(`/v1/programs/${p}/members/${m}/adjust`, { method: 'POST', headers, body: JSON.stringify({ pointType: 'points', amount: 5, reason: 'nope' }) });
        const rule = await fetch(`/v1/programs/${p}/rules`, { method: 'POST', headers, body: JSON.stringify({ name: 'nope', priority: 1, stacking: 'cumulative', eventTypes: ['purchase'], rewards: [] }) });
        const operator = await fetch('/v1/console/operators', { method: 'POST', headers, body: JSON.stringify({ username: 'mallory', password: 'long enough pw', role: 'admin' }) });
        const pointType = await fetch(`/v1/programs/${p}/point-types`, { method: 'POST', headers, body: JSON.stringify({ code: 'nope', name: 'Nope', kind: 'redeemable' }) });
        const schedule = await fetch(`/v1/programs/${p}/check-in-schedule`, { method: 'PUT', headers, body: JSON.stringify({ cycle: 'weekly', rewards: [1000] }) });
        const bulk = await fetch(`/v1/programs/${p}/bulk-credits`, { method: 'POST', headers: { ...headers, 'content-type': 'text/csv' }, body: 'externalId,pointType,amount\nalice,points,1000' });
        return [adjust.status, rule.status, operator.status, pointType.status, schedule.status, bulk.status];
      },
      { p: programId, m: memberId },
    );
    expect(statuses).toEqual([403, 403, 403, 403, 403, 403]);
    const balance = await t.api('GET', `/v1/programs/${programId}/members/${memberId}/balances`, { key });
    expect(balance.body.balances.find((b: { pointType: string }) => b.pointType === 'points').available).toBe(50);
    await context.close();
  }, 60_000);
});

function shot(page: Page, name: string) {
  return page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}
