import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { MetricsLog, parseEmfLine } from '../../local/metrics-log';

const AT = Date.parse('2030-01-01T12:00:00Z');

/** The line Powertools writes for what `fill` stores (its own serializer, so the format is Powertools'). */
function powertoolsLine(fill: (metrics: Metrics) => void): string {
  const metrics = new Metrics({ namespace: 'TokenWarden', serviceName: 'token-warden' });
  fill(metrics);
  metrics.setTimestamp(AT);
  return JSON.stringify(metrics.serializeMetrics());
}

describe('Function: parseEmfLine', () => {
  it('reads each value of each metric of a Powertools line, with its dimensions and timestamp', () => {
    // Prepare
    const line = powertoolsLine((m) => {
      m.addMetric('Issued', MetricUnit.Count, 1);
      m.addMetric('AtlassianLimiterWait', MetricUnit.Milliseconds, 0);
      m.addMetric('AtlassianLimiterWait', MetricUnit.Milliseconds, 250);
    });

    // Act
    const points = parseEmfLine(line, 'MintToken');

    // Assess
    const common = {
      namespace: 'TokenWarden',
      dimensions: { service: 'token-warden' },
      at: '2030-01-01T12:00:00.000Z',
      function: 'MintToken',
    };
    expect(points).toEqual([
      { name: 'Issued', value: 1, unit: 'Count', ...common },
      { name: 'AtlassianLimiterWait', value: 0, unit: 'Milliseconds', ...common },
      { name: 'AtlassianLimiterWait', value: 250, unit: 'Milliseconds', ...common },
    ]);
  });

  it('reads the route dimension of a single metric', () => {
    // Prepare
    const metrics = new Metrics({ namespace: 'TokenWarden', serviceName: 'token-warden' });
    metrics.addDimension('route', 'GET /users/{accountId}/manage/api-tokens');
    metrics.addMetric('AtlassianRateLimited', MetricUnit.Count, 1);
    const line = JSON.stringify(metrics.serializeMetrics());

    // Act
    const [point] = parseEmfLine(line, 'VerifyToken');

    // Assess
    expect(point?.dimensions).toEqual({ service: 'token-warden', route: 'GET /users/{accountId}/manage/api-tokens' });
  });

  it.each([
    ['a Powertools log line', '{"level":"INFO","message":"minted","service":"token-warden"}'],
    ['a runtime text line', '2030-01-01T00:00:00.000Z\tabc\tINFO\t{"_aws": 1}'],
    ['truncated JSON', '{"_aws":{"Timestamp":1,'],
    ['EMF without metrics', '{"_aws":{"Timestamp":1}}'],
    [
      'a metric without a numeric value',
      powertoolsLine((m) => m.addMetric('Issued', MetricUnit.Count, 1)).replace('"Issued":1', '"Issued":"1"'),
    ],
  ])('reads nothing from %s', (_what, line) => {
    // Act
    const points = parseEmfLine(line, 'Fn');

    // Assess
    expect(points).toEqual([]);
  });
});

describe('Class: MetricsLog', () => {
  it('keeps the latest points up to its limit, and lists one metric by name', () => {
    // Prepare
    const log = new MetricsLog(2);
    const line = (name: string) => powertoolsLine((m) => m.addMetric(name, MetricUnit.Count, 1));

    // Act
    log.add('A', line('Requested'));
    log.add('A', 'not a metric');
    log.add('B', line('Approved'));
    log.add('C', line('Issued'));

    // Assess
    expect(log.list().map((p) => `${p.function}:${p.name}`)).toEqual(['B:Approved', 'C:Issued']);
    expect(log.list('Issued').map((p) => p.function)).toEqual(['C']);
  });
});
