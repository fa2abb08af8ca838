import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import { mockClient } from 'aws-sdk-client-mock';
import { AtlassianClient, AtlassianTransientError } from '../../../functions/adapters/atlassian/client';
import { AuditLog } from '../../../functions/adapters/aws/audit-log';
import { metrics, metricsMiddleware, PowertoolsMetricsRecorder } from '../../../functions/adapters/aws/metrics';
import { SharedRateLimiter } from '../../../functions/adapters/aws/rate-limiter';
import { apiHandler, json } from '../../../functions/edge/http';
import { logger } from '../../../functions/edge/logger';
import { taskHandler } from '../../../functions/edge/task';
import { type LocalDynamo, startDynamo } from '../../support/dynamo';
import { apiEvent, lambdaContext } from '../../support/events';
import { scriptedServer } from '../support/atlassian-servers';

// The test setup keeps the functions' shared `Metrics` quiet; these tests build their own, which must publish.
process.env.POWERTOOLS_METRICS_DISABLED = 'false';

interface EmfLine {
  _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: unknown[] }[] };
  [key: string]: unknown;
}

/** The EMF lines written to stdout while `run` runs (Powertools writes them there directly). */
async function emfLines(run: () => Promise<void> | void): Promise<EmfLine[]> {
  const lines: EmfLine[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    for (const line of text.split('\n')) {
      if (line.startsWith('{') && line.includes('"_aws"')) lines.push(JSON.parse(line) as EmfLine);
      else if (line !== '') write(`${line}\n`);
    }
    return true;
  });
  try {
    await run();
  } finally {
    spy.mockRestore();
  }
  return lines;
}

const newMetrics = () => new Metrics({ namespace: 'TokenWarden', serviceName: 'token-warden' });

const ROUTE = 'GET /users/{accountId}/manage/api-tokens';

describe('Class: PowertoolsMetricsRecorder', () => {
  describe('Method: lifecycleEvent', () => {
    it('stores one count per event, named after it, and the middleware publishes them as one EMF line', async () => {
      // Prepare
      const metrics = newMetrics();
      const recorder = new PowertoolsMetricsRecorder(metrics);
      const handler = middy()
        .use(metricsMiddleware(metrics))
        .handler(async () => {
          recorder.lifecycleEvent('REQUESTED');
          recorder.lifecycleEvent('ROTATION_FAILED');
          recorder.lifecycleEvent('ROTATION_FAILED');
          return 'done';
        });

      // Act
      const lines = await emfLines(async () => {
        await handler({}, {} as never);
      });

      // Assess
      expect(lines).toHaveLength(1);
      const [line] = lines as [EmfLine];
      expect(line._aws.CloudWatchMetrics).toEqual([
        {
          Namespace: 'TokenWarden',
          Dimensions: [['service']],
          Metrics: [
            { Name: 'Requested', Unit: 'Count' },
            { Name: 'RotationFailed', Unit: 'Count' },
          ],
        },
      ]);
      expect(line).toMatchObject({ service: 'token-warden', Requested: 1, RotationFailed: [1, 1] });
    });
  });

  describe('Method: atlassianRateLimited / atlassianRetry', () => {
    it('publishes each at once with the route as its only other dimension', async () => {
      // Prepare
      const recorder = new PowertoolsMetricsRecorder(newMetrics());

      // Act
      const lines = await emfLines(() => {
        recorder.atlassianRateLimited(ROUTE);
        recorder.atlassianRetry(ROUTE);
      });

      // Assess
      expect(lines.map((l) => l._aws.CloudWatchMetrics[0]?.Dimensions)).toEqual([
        [['service', 'route']],
        [['service', 'route']],
      ]);
      expect(lines[0]).toMatchObject({ service: 'token-warden', route: ROUTE, AtlassianRateLimited: 1 });
      expect(lines[1]).toMatchObject({ service: 'token-warden', route: ROUTE, AtlassianRetries: 1 });
    });

    it('also counts each 429 in a total with the service dimension only, stored for the invocation', async () => {
      // Prepare
      const metrics = newMetrics();
      const recorder = new PowertoolsMetricsRecorder(metrics);

      // Act
      const lines = await emfLines(() => {
        recorder.atlassianRateLimited(ROUTE);
        recorder.atlassianRateLimited(ROUTE);
        metrics.publishStoredMetrics();
      });

      // Assess
      const total = lines.find((l) => l._aws.CloudWatchMetrics[0]?.Dimensions[0]?.length === 1);
      expect(total?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service']]);
      expect(total).toMatchObject({ service: 'token-warden', AtlassianRateLimited: [1, 1] });
    });
  });

  describe('Method: limiterWait', () => {
    it('stores whole milliseconds, never below zero', async () => {
      // Prepare
      const metrics = newMetrics();
      const recorder = new PowertoolsMetricsRecorder(metrics);

      // Act
      const lines = await emfLines(() => {
        recorder.limiterWait(12.6);
        recorder.limiterWait(-0.4);
        metrics.publishStoredMetrics();
      });

      // Assess
      expect(lines[0]?._aws.CloudWatchMetrics[0]?.Metrics).toEqual([
        { Name: 'AtlassianLimiterWait', Unit: 'Milliseconds' },
      ]);
      expect(lines[0]?.AtlassianLimiterWait).toEqual([13, 0]);
    });
  });
});

describe('Function: metricsMiddleware', () => {
  it('publishes what a failed invocation stored, and the error still reaches the caller', async () => {
    // Prepare
    const metrics = newMetrics();
    const recorder = new PowertoolsMetricsRecorder(metrics);
    const handler = middy()
      .use(metricsMiddleware(metrics))
      .handler(async () => {
        recorder.lifecycleEvent('ISSUANCE_FAILED');
        throw new Error('step failed');
      });

    // Act
    let thrown: unknown;
    const lines = await emfLines(async () => {
      thrown = await handler({}, {} as never).catch((error: unknown) => error);
    });

    // Assess
    expect((thrown as Error).message).toBe('step failed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ IssuanceFailed: 1 });
  });

  it('writes nothing, not even a warning, for an invocation that stored nothing', async () => {
    // Prepare
    const metrics = newMetrics();
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    const handler = middy()
      .use(metricsMiddleware(metrics))
      .handler(async () => 'nothing to count');

    // Act
    const lines = await emfLines(async () => {
      await handler({}, {} as never);
    });

    // Assess
    warn.mockRestore();
    expect(lines).toEqual([]);
    expect(warn).not.toHaveBeenCalled();
  });
});

describe('Function: apiHandler (metrics)', () => {
  it("publishes the functions' metrics once per invocation, so nothing carries over to the next", async () => {
    // Prepare
    const handler = apiHandler(async () => {
      new PowertoolsMetricsRecorder(metrics).lifecycleEvent('REQUESTED');
      return json(201, {});
    });

    // Act
    const result = await handler(apiEvent({ routeKey: 'POST /token-requests' }), lambdaContext);

    // Assess
    expect(result.statusCode).toBe(201);
    expect(metrics.hasStoredMetrics()).toBe(false);
  });
});

describe('Function: taskHandler (metrics)', () => {
  it("publishes the functions' metrics once per workflow step, also when the step fails", async () => {
    // Prepare
    const logged = jest.spyOn(logger, 'error').mockImplementation(() => {});
    const handler = taskHandler(async () => {
      new PowertoolsMetricsRecorder(metrics).lifecycleEvent('ROTATION_FAILED');
      throw Object.assign(new Error('Atlassian is down'), { name: 'AtlassianTransientError' });
    });

    // Act
    const outcome = handler({}, lambdaContext);

    // Assess
    await expect(outcome).rejects.toMatchObject({ name: 'AtlassianTransientError' });
    logged.mockRestore();
    expect(metrics.hasStoredMetrics()).toBe(false);
  });
});

describe('Class: AuditLog', () => {
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  const ddb = mockClient(doc);
  beforeEach(() => ddb.reset());

  const record = {
    correlationId: 'req_abc',
    event: 'ISSUED' as const,
    at: '2030-01-01T00:00:00Z',
    actor: 'token-warden',
    requestId: 'req_abc',
  };

  it('counts an appended record under its event', async () => {
    // Prepare
    ddb.on(PutCommand).resolves({});
    const metrics = newMetrics();
    const audit = new AuditLog(doc, 'audit', undefined, new PowertoolsMetricsRecorder(metrics));

    // Act
    await audit.append(record, 'gen1');
    const lines = await emfLines(() => {
      metrics.publishStoredMetrics();
    });

    // Assess
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ Issued: 1 });
    // No id reaches the line: the dimensions are the service's.
    expect(JSON.stringify(lines[0])).not.toContain('req_abc');
  });

  it('records how long a request waited for each approver decision, in whole seconds', async () => {
    // Prepare
    ddb.on(PutCommand).resolves({});
    const metrics = newMetrics();
    const audit = new AuditLog(doc, 'audit', undefined, new PowertoolsMetricsRecorder(metrics));
    const decided = { ...record, actor: 'approver1@example.com', details: { outcome: 'PENDING' } };

    // Act
    await audit.append({ ...decided, event: 'APPROVED', details: { outcome: 'APPROVED', pendingSeconds: 125 } }, 'a1');
    await audit.append({ ...decided, event: 'REJECTED', details: { outcome: 'REJECTED', pendingSeconds: 7 } }, 'a2');
    // A close step's REJECTED carries no wait: no latency for it.
    await audit.append({ ...record, event: 'REJECTED', details: { reason: 'REJECTED' } }, 'close');
    const lines = await emfLines(() => {
      metrics.publishStoredMetrics();
    });

    // Assess
    expect(lines[0]?._aws.CloudWatchMetrics[0]?.Metrics).toEqual(
      expect.arrayContaining([{ Name: 'DecisionLatency', Unit: 'Seconds' }]),
    );
    expect(lines[0]?.DecisionLatency).toEqual([125, 7]);
  });

  it('counts nothing when a retried step finds the record already there', async () => {
    // Prepare
    ddb.on(PutCommand).rejects(Object.assign(new Error('present'), { name: 'ConditionalCheckFailedException' }));
    const metrics = newMetrics();
    const audit = new AuditLog(doc, 'audit', undefined, new PowertoolsMetricsRecorder(metrics));

    // Act
    await audit.append(record, 'gen1');

    // Assess
    expect(metrics.hasStoredMetrics()).toBe(false);
  });
});

describe('Class: AtlassianClient (metrics)', () => {
  const counted = () => {
    const calls: string[] = [];
    return {
      calls,
      recorder: {
        lifecycleEvent: () => {},
        decisionLatency: () => {},
        limiterWait: () => {},
        atlassianRateLimited: (route: string) => calls.push(`429 ${route}`),
        atlassianRetry: (route: string) => calls.push(`retry ${route}`),
      },
    };
  };

  async function withScript(
    script: Parameters<typeof scriptedServer>[0],
    run: (client: AtlassianClient, calls: string[]) => Promise<void>,
  ) {
    const scripted = await scriptedServer(script);
    const { calls, recorder } = counted();
    try {
      await run(
        new AtlassianClient({
          apiBaseUrl: scripted.url,
          siteBaseUrl: scripted.url,
          orgApiKey: async () => 'org-key',
          sleep: async () => {},
          random: () => 0,
          metrics: recorder,
        }),
        calls,
      );
    } finally {
      await scripted.close();
    }
  }

  it('counts each 429 and each retry against the route template, never the account id', async () => {
    await withScript(
      [{ status: 429, headers: { 'retry-after': '1' } }, { status: 503 }, { status: 200, body: '[]' }],
      async (client, calls) => {
        // Act
        await client.listTokens('557058:0f3c2a1e-acc0-un7s-0001');

        // Assess
        expect(calls).toEqual([`429 ${ROUTE}`, `retry ${ROUTE}`, `retry ${ROUTE}`]);
      },
    );
  });

  it('counts a 429 that is not retried (attempts spent) and no retry for it', async () => {
    await withScript([{ status: 429, headers: { 'retry-after': '1' } }], async (client, calls) => {
      // Act
      const outcome = client.listTokens('557058:abc');

      // Assess
      await expect(outcome).rejects.toBeInstanceOf(AtlassianTransientError);
      expect(calls).toEqual([
        `429 ${ROUTE}`,
        `retry ${ROUTE}`,
        `429 ${ROUTE}`,
        `retry ${ROUTE}`,
        `429 ${ROUTE}`,
        `retry ${ROUTE}`,
        `429 ${ROUTE}`,
      ]);
    });
  });

  it('counts no retry of a mint after a 5xx (a mint repeats only after a 429)', async () => {
    await withScript([{ status: 502 }], async (client, calls) => {
      // Act
      const outcome = client.mintToken('557058:abc', { label: 'x', scopes: [], expiry: new Date('2030-02-01') });

      // Assess
      await expect(outcome).rejects.toBeInstanceOf(AtlassianTransientError);
      expect(calls).toEqual([]);
    });
  });
});

describe('Class: SharedRateLimiter (metrics)', () => {
  let dynamo: LocalDynamo;
  beforeAll(async () => {
    dynamo = await startDynamo();
  });
  afterAll(async () => {
    await dynamo.close();
  });

  it('records the wait of each caller for its slot', async () => {
    // Prepare
    let now = 1_800_000_000_000;
    const waits: number[] = [];
    const limiter = new SharedRateLimiter(dynamo.doc, dynamo.tableName, 'metrics-test', {
      perSecond: 4,
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
      metrics: {
        lifecycleEvent: () => {},
        decisionLatency: () => {},
        atlassianRateLimited: () => {},
        atlassianRetry: () => {},
        limiterWait: (ms) => waits.push(ms),
      },
    });

    // Act: the first goes at once, the second waits a quarter second behind it
    await limiter.acquire();
    await limiter.acquire();

    // Assess
    expect(waits).toEqual([0, 250]);
  });
});
