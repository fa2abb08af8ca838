import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHttpApi, type HttpApi } from '../../local/api-gateway';
import { SimulatedClock } from '../../local/clock';
import { createLocalRoutes } from '../../local/local-routes';
import { WebhookSink } from '../../local/webhooks';

describe('chat-webhook sink (/local/webhooks)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-webhooks-'));
  const file = join(dir, 'webhooks.json');
  const clock = new SimulatedClock();
  let sink = new WebhookSink({ file, now: () => clock.now() });
  let api: HttpApi;
  let base: string;

  beforeAll(async () => {
    api = createHttpApi({
      routes: [],
      invoke: () => Promise.reject(new Error('no functions here')),
      localRoutes: (req, res, body) =>
        createLocalRoutes({
          clock,
          oidc: { handle: async () => false },
          calls: () => [],
          events: () => [],
          metrics: () => [],
          webhooks: sink,
        })(req, res, body),
    });
    await api.listen(0);
    base = api.url as string;
  });

  afterAll(async () => {
    clock.stop();
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (path: string, body: unknown, type = 'application/json') =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': type },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const list = async (query = '') =>
    (
      (await (await fetch(`${base}/local/webhooks${query}`)).json()) as {
        items: { name: string; body: unknown; at: string }[];
      }
    ).items;

  it('stores a delivery and answers 200 ok, as a Slack incoming webhook does', async () => {
    // Prepare
    const message = { text: 'Token jenkins-bot/ci issued', blocks: [{ type: 'section' }] };

    // Act
    const answer = await post('/local/webhooks/slack-security', message);

    // Assess
    expect(answer.status).toBe(200);
    expect(await answer.text()).toBe('ok');
    const items = await list('?name=slack-security');
    expect(items).toEqual([{ name: 'slack-security', body: message, at: expect.stringMatching(/^\d{4}-.+Z$/) }]);
    expect(Math.abs(Date.parse(items[0]?.at ?? '') - clock.nowMs())).toBeLessThan(5_000);
  });

  it('fails the next N deliveries with the status a test control sets, with Retry-After, then accepts again', async () => {
    // Prepare
    const control = await post('/local/webhooks/teams-ops/faults', { status: 429, count: 2, retryAfterSeconds: 30 });
    expect(control.status).toBe(200);

    // Act
    const first = await post('/local/webhooks/teams-ops', { type: 'message', n: 1 });
    const second = await post('/local/webhooks/teams-ops', { type: 'message', n: 2 });
    const third = await post('/local/webhooks/teams-ops', { type: 'message', n: 3 });

    // Assess
    expect([first.status, second.status, third.status]).toEqual([429, 429, 200]);
    expect(first.headers.get('retry-after')).toBe('30');
    expect(await first.text()).toBe('rate_limited');
    expect((await list('?name=teams-ops')).map((item) => item.body)).toEqual([{ type: 'message', n: 3 }]);
  });

  it('answers 500 without Retry-After when the control says so', async () => {
    // Prepare
    await post('/local/webhooks/flaky/faults', { status: 500 });

    // Act
    const failed = await post('/local/webhooks/flaky', { text: 'x' });
    const accepted = await post('/local/webhooks/flaky', { text: 'y' });

    // Assess
    expect(failed.status).toBe(500);
    expect(failed.headers.get('retry-after')).toBeNull();
    expect(accepted.status).toBe(200);
  });

  it.each([
    [{ status: 200 }, 'status'],
    [{ status: 429, count: -1 }, 'count'],
    [{ status: 429, retryAfterSeconds: 'soon' }, 'retryAfterSeconds'],
    [{ status: 429, colour: 'red' }, 'colour'],
  ])('refuses the fault control body %j naming %s', async (body, field) => {
    // Act
    const answer = await post('/local/webhooks/any/faults', body);

    // Assess
    expect(answer.status).toBe(400);
    expect(await answer.json()).toEqual({ error: { code: 'VALIDATION_ERROR', message: expect.any(String), field } });
  });

  it('answers 400 invalid_payload to a body that is not JSON, storing nothing', async () => {
    // Act
    const answer = await post('/local/webhooks/broken', '{not json');

    // Assess
    expect(answer.status).toBe(400);
    expect(await answer.text()).toBe('invalid_payload');
    expect(await list('?name=broken')).toEqual([]);
  });

  it('refuses a delivery that is not application/json with 415', async () => {
    // Act
    const answer = await post('/local/webhooks/slack-security', 'text=hi', 'application/x-www-form-urlencoded');

    // Assess
    expect(answer.status).toBe(415);
  });

  it('keeps deliveries across a restart', async () => {
    // Prepare
    const before = await list();

    // Act
    sink = new WebhookSink({ file, now: () => clock.now() });

    // Assess
    expect(before.length).toBeGreaterThan(0);
    expect(await list()).toEqual(before);
  });
});
