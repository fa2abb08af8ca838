import { createHttpApi, type HttpApi } from '../../local/api-gateway';
import { SimulatedClock } from '../../local/clock';
import { createLocalRoutes } from '../../local/local-routes';
import { MetricsLog } from '../../local/metrics-log';
import { crossSiteTextPost, rawRequest, rebindingHost } from './support/browser-requests';

const HOUR = 3_600_000;

describe('local-only routes (/local/…)', () => {
  const clock = new SimulatedClock();
  const metricsLog = new MetricsLog();
  let api: HttpApi;
  let base: string;

  beforeAll(async () => {
    api = createHttpApi({
      routes: [],
      invoke: () => Promise.reject(new Error('no functions here')),
      localRoutes: createLocalRoutes({
        clock,
        oidc: { handle: async () => false },
        calls: () => [],
        events: () => [],
        metrics: (name) => metricsLog.list(name),
      }),
    });
    await api.listen(0);
    base = api.url as string;
  });

  afterAll(async () => {
    clock.stop();
    await api.close();
  });

  it('refuses a cross-site text/plain POST /local/clock/advance with 415, leaving the clock where it was', async () => {
    // Prepare
    const offset = clock.offset;

    // Act
    const answer = await crossSiteTextPost(`${base}/local/clock/advance`, '{"days":30}');

    // Assess
    expect(answer.status).toBe(415);
    expect(JSON.parse(answer.text)).toEqual({
      error: {
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: expect.stringContaining('application/json'),
        field: 'content-type',
      },
    });
    expect(clock.offset).toBe(offset);
  });

  it('refuses form and untyped bodies with 415 too', async () => {
    // Prepare
    const offset = clock.offset;

    // Act
    const form = await rawRequest(`${base}/local/clock/advance`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'days=30',
    });
    const untyped = await rawRequest(`${base}/local/clock/advance`, { method: 'POST', body: '{"days":30}' });

    // Assess
    expect([form.status, untyped.status]).toEqual([415, 415]);
    expect(clock.offset).toBe(offset);
  });

  it('refuses a JSON POST that names another origin with 403, leaving the clock where it was', async () => {
    // Prepare
    const offset = clock.offset;

    // Act
    const answer = await rawRequest(`${base}/local/clock/advance`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://attacker.example' },
      body: '{"days":30}',
    });

    // Assess
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.text)).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect(clock.offset).toBe(offset);
  });

  it('refuses a foreign Host with 403, leaving the clock where it was', async () => {
    // Prepare
    const offset = clock.offset;

    // Act
    const answer = await rawRequest(`${base}/local/clock/advance`, {
      method: 'POST',
      headers: { host: rebindingHost(base), 'content-type': 'application/json' },
      body: '{"days":30}',
    });
    const read = await rawRequest(`${base}/local/clock`, { headers: { host: rebindingHost(base) } });

    // Assess
    expect([answer.status, read.status]).toEqual([403, 403]);
    expect(clock.offset).toBe(offset);
  });

  it('moves the clock for a local client posting JSON, with or without its own origin', async () => {
    // Prepare
    const offset = clock.offset;

    // Act
    const plain = await fetch(`${base}/local/clock/advance`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: '{"hours":1}',
    });
    const sameOrigin = await rawRequest(`${base}/local/clock/advance`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: base },
      body: '{"hours":1}',
    });

    // Assess
    expect([plain.status, sameOrigin.status]).toEqual([200, 200]);
    expect(await plain.json()).toMatchObject({ settled: true });
    expect(clock.offset - offset).toBeGreaterThanOrEqual(2 * HOUR - 1000);
  });

  it('lists the metrics of the EMF lines the functions wrote at GET /local/metrics, by name when asked', async () => {
    // Prepare
    const emf = (name: string) =>
      JSON.stringify({
        _aws: {
          Timestamp: Date.parse('2030-01-01T00:00:00Z'),
          CloudWatchMetrics: [
            { Namespace: 'TokenWarden', Dimensions: [['service']], Metrics: [{ Name: name, Unit: 'Count' }] },
          ],
        },
        service: 'token-warden',
        [name]: 1,
      });
    metricsLog.add('Requests', emf('Requested'));
    metricsLog.add('Promote', emf('Issued'));

    // Act
    const all = await fetch(`${base}/local/metrics`);
    const issued = await fetch(`${base}/local/metrics?name=Issued`);

    // Assess
    expect(all.status).toBe(200);
    expect(((await all.json()) as { metrics: { name: string }[] }).metrics.map((m) => m.name)).toEqual([
      'Requested',
      'Issued',
    ]);
    expect(await issued.json()).toEqual({
      metrics: [
        {
          name: 'Issued',
          value: 1,
          unit: 'Count',
          namespace: 'TokenWarden',
          dimensions: { service: 'token-warden' },
          at: '2030-01-01T00:00:00.000Z',
          function: 'Promote',
        },
      ],
    });
  });

  it('keeps the local guards on /local/metrics: a cross-site POST is refused, a foreign Host too', async () => {
    // Act
    const post = await crossSiteTextPost(`${base}/local/metrics`, '{}');
    const read = await rawRequest(`${base}/local/metrics`, { headers: { host: rebindingHost(base) } });

    // Assess
    expect([post.status, read.status]).toEqual([415, 403]);
  });
});
