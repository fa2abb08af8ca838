import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { type AwsEdge, createAwsEdge } from '../../local/aws/edge';
import { createSqs, type SqsService } from '../../local/aws/sqs';
import { SimulatedClock } from '../../local/clock';
import { commandPath, freePort, useMotoServer } from './support/moto';
import {
  registerSqsContract,
  type SqsContractTarget,
  type SqsKnownDifferences,
  sqsClientFor,
} from './support/sqs-contract';

/** Serves `service()` behind the real AWS edge (looked up per request, so a test can swap in a restarted one). */
async function serve(service: () => SqsService): Promise<{ endpoint: string; edge: AwsEdge }> {
  const proxy: SqsService = new Proxy({} as SqsService, {
    get: (_target, key) => {
      const current = service() as unknown as Record<PropertyKey, unknown>;
      const value = current[key];
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(current) : value;
    },
  });
  const edge = createAwsEdge({ services: [proxy] });
  const port = await freePort();
  await edge.listen(port);
  return { endpoint: `http://127.0.0.1:${port}`, edge };
}

describe('local SQS contract (through the AWS SDK v3 client and the AWS edge)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-sqs-'));
  const file = join(dir, 'sqs.json');
  const clock = new SimulatedClock();
  let service = createSqs({ clock, file });
  let server: { endpoint: string; edge: AwsEdge } | undefined;

  beforeAll(async () => {
    server = await serve(() => service);
  });
  afterAll(async () => {
    service.close();
    await server?.edge.close();
    clock.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const target = (): SqsContractTarget => ({
    endpoint: server?.endpoint ?? '',
    advance: async (ms) => {
      await clock.advance(ms);
    },
    restart: async () => {
      service.close();
      service = createSqs({ clock, file });
    },
  });
  registerSqsContract(target, { capabilities: ['clock', 'restart'] });
});

const motoServer = commandPath('moto_server');
if (motoServer) {
  /**
   * moto 5.2 departs from SQS's documented behaviour in these cases (each is probed to still differ). The emulator
   * keeps SQS's behaviour; the reasons say what moto does instead.
   */
  const motoDifferences: SqsKnownDifferences = {
    'create-invalid-attribute-value': 'moto accepts a VisibilityTimeout above 43200',
    'attributes-whole-seconds': 'moto answers CreatedTimestamp with a fraction of a second',
    'delete-stale-handle': 'moto deletes a message with any receipt handle it ever had, not only the latest',
    'change-visibility-deleted': 'moto answers ReceiptHandleIsInvalid for a deleted message',
    'change-visibility-not-in-flight':
      'moto changes the visibility of a message that is visible again instead of MessageNotInflight',
    'purge-once-a-minute': 'moto allows any number of PurgeQueue calls',
    'invalid-body-characters': 'moto accepts bodies with characters outside the documented set',
    'empty-body': 'moto accepts an empty MessageBody',
  };

  describe('moto_server (reference implementation, same SQS contract)', () => {
    const endpoint = useMotoServer(motoServer);

    registerSqsContract(() => ({ endpoint: endpoint() }), { differs: motoDifferences, capabilities: [] });
  });
}

describe('local SQS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-sqs-local-'));
  const clock = new SimulatedClock();
  const service = createSqs({ clock, file: join(dir, 'sqs.json') });
  let server: { endpoint: string; edge: AwsEdge } | undefined;
  const client = () => sqsClientFor(server?.endpoint ?? '');

  beforeAll(async () => {
    server = await serve(() => service);
  });
  afterAll(async () => {
    service.close();
    await server?.edge.close();
    clock.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers errors in the JSON protocol with __type and the x-amzn-query-error header', async () => {
    // Prepare
    const body = JSON.stringify({ QueueUrl: `${server?.endpoint}/000000000000/no-such-queue`, MessageBody: 'x' });

    // Act
    const response = await fetch(server?.endpoint ?? '', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'AmazonSQS.SendMessage',
        authorization:
          'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0',
      },
      body,
    });

    // Assess
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/x-amz-json-1.0');
    expect(response.headers.get('x-amzn-query-error')).toBe('AWS.SimpleQueueService.NonExistentQueue;Sender');
    expect(await response.json()).toEqual({
      __type: 'com.amazonaws.sqs#QueueDoesNotExist',
      message: 'The specified queue does not exist.',
    });
  });

  it('marks a redriven message with DeadLetterQueueSourceArn and keeps its sent time', async () => {
    // Prepare
    const sqs = client();
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: 'marks-dlq' }));
    const dlqArn = service.queueArn('marks-dlq');
    const main = await sqs.send(
      new CreateQueueCommand({
        QueueName: 'marks-main',
        Attributes: {
          VisibilityTimeout: '0',
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 1 }),
        },
      }),
    );
    await sqs.send(new SendMessageCommand({ QueueUrl: main.QueueUrl, MessageBody: 'poison' }));
    const first = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: main.QueueUrl, MessageSystemAttributeNames: ['All'] }),
    );

    // Act
    const again = await sqs.send(new ReceiveMessageCommand({ QueueUrl: main.QueueUrl }));
    const dead = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlq.QueueUrl, MessageSystemAttributeNames: ['All'] }),
    );

    // Assess
    expect(again.Messages).toBeUndefined();
    expect(dead.Messages?.[0]?.Attributes).toMatchObject({
      DeadLetterQueueSourceArn: service.queueArn('marks-main'),
      SentTimestamp: first.Messages?.[0]?.Attributes?.SentTimestamp,
    });
    sqs.destroy();
  });

  it('refuses a redrive policy whose dead-letter queue does not exist', async () => {
    // Prepare
    const sqs = client();
    const policy = JSON.stringify({ deadLetterTargetArn: service.queueArn('nowhere'), maxReceiveCount: 3 });

    // Act
    const outcome = sqs.send(new CreateQueueCommand({ QueueName: 'orphan', Attributes: { RedrivePolicy: policy } }));

    // Assess
    await expect(outcome).rejects.toMatchObject({ name: 'InvalidAttributeValue' });
    sqs.destroy();
  });

  it('leaves an in-flight message alone when ChangeMessageVisibility comes with an older handle', async () => {
    // Prepare
    const sqs = client();
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'older-handle' }));
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'x' }));
    const first = await sqs.send(new ReceiveMessageCommand({ QueueUrl, VisibilityTimeout: 0 }));
    await sqs.send(new ReceiveMessageCommand({ QueueUrl, VisibilityTimeout: 600 }));

    // Act
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl,
        ReceiptHandle: first.Messages?.[0]?.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );

    // Assess
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessagesNotVisible'] }),
    );
    expect(attributes.Attributes?.ApproximateNumberOfMessagesNotVisible).toBe('1');
    sqs.destroy();
  });

  it('wakes an in-process long poll when the simulated clock ends a visibility timeout', async () => {
    // Prepare
    const sqs = client();
    await sqs.send(new CreateQueueCommand({ QueueName: 'clock-wake', Attributes: { VisibilityTimeout: '3600' } }));
    const arn = service.queueArn('clock-wake');
    service.sendToArn(arn, 'retry later');
    const [first] = await service.receiveFromArn(arn, { max: 1, waitMs: 0 });
    const polling = service.receiveFromArn(arn, { max: 1, waitMs: 10_000 });

    // Act
    await clock.advance(3_600_000);
    const [second] = await polling;

    // Assess
    expect(second?.messageId).toBe(first?.messageId);
    expect(second?.attributes.ApproximateReceiveCount).toBe('2');
    sqs.destroy();
  });

  it('ends an in-process long poll when its signal aborts', async () => {
    // Prepare
    service.sendToArn(service.queueArn('clock-wake'), 'unused');
    const sqs = client();
    await sqs.send(new CreateQueueCommand({ QueueName: 'abort-me' }));
    const controller = new AbortController();
    const started = Date.now();
    const polling = service.receiveFromArn(service.queueArn('abort-me'), {
      max: 1,
      waitMs: 20_000,
      signal: controller.signal,
    });

    // Act
    setTimeout(() => controller.abort(), 50);

    // Assess
    await expect(polling).resolves.toEqual([]);
    expect(Date.now() - started).toBeLessThan(2_000);
    sqs.destroy();
  });

  it('persists to an owner-only JSON file', () => {
    // Assess
    const file = join(dir, 'sqs.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8')).queues.map((q: { name: string }) => q.name)).toContain('abort-me');
  });
});

const awsCli = existsSync('/usr/bin/aws') ? '/usr/bin/aws' : commandPath('aws');
if (awsCli) {
  describe('AWS CLI against local SQS (the query protocol older CLIs send)', () => {
    const clock = new SimulatedClock();
    const service = createSqs({ clock });
    const home = mkdtempSync(join(tmpdir(), 'tw-sqs-cli-'));
    let server: { endpoint: string; edge: AwsEdge } | undefined;

    beforeAll(async () => {
      server = await serve(() => service);
    });
    afterAll(async () => {
      service.close();
      await server?.edge.close();
      clock.stop();
      rmSync(home, { recursive: true, force: true });
    });

    function aws(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      return new Promise((resolve) => {
        execFile(
          awsCli as string,
          ['--endpoint-url', server?.endpoint ?? '', '--output', 'json', 'sqs', ...args],
          {
            env: {
              PATH: process.env.PATH ?? '',
              HOME: home,
              AWS_ACCESS_KEY_ID: 'test',
              AWS_SECRET_ACCESS_KEY: 'test',
              AWS_REGION: 'us-east-1',
              AWS_PAGER: '',
            },
          },
          (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
        );
      });
    }

    it('creates a queue, sends with attributes, receives and deletes (the CLI checks both MD5s)', async () => {
      // Prepare
      const created = JSON.parse((await aws('create-queue', '--queue-name', 'cli-q')).stdout) as { QueueUrl: string };
      await aws(
        'send-message',
        '--queue-url',
        created.QueueUrl,
        '--message-body',
        'hello <&> "cli"',
        '--message-attributes',
        '{"kind":{"DataType":"String","StringValue":"ISSUED"}}',
      );

      // Act
      const received = await aws(
        'receive-message',
        '--queue-url',
        created.QueueUrl,
        '--attribute-names',
        'All',
        '--message-attribute-names',
        'All',
      );
      const [message] = (JSON.parse(received.stdout) as { Messages: { ReceiptHandle: string }[] }).Messages;
      const deleted = await aws(
        'delete-message',
        '--queue-url',
        created.QueueUrl,
        '--receipt-handle',
        message?.ReceiptHandle ?? '',
      );

      // Assess
      expect(received.code).toBe(0);
      expect(message).toMatchObject({
        Body: 'hello <&> "cli"',
        Attributes: { ApproximateReceiveCount: '1' },
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'ISSUED' } },
      });
      expect(deleted.code).toBe(0);
      const attributes = JSON.parse(
        (
          await aws(
            'get-queue-attributes',
            '--queue-url',
            created.QueueUrl,
            '--attribute-names',
            'ApproximateNumberOfMessages',
          )
        ).stdout,
      );
      expect(attributes).toEqual({ Attributes: { ApproximateNumberOfMessages: '0' } });
    }, 30_000);

    it('reports an unknown queue with the query error code', async () => {
      // Act
      const answer = await aws('get-queue-url', '--queue-name', 'no-such-queue');

      // Assess
      expect(answer.code).not.toBe(0);
      expect(answer.stderr).toContain('(AWS.SimpleQueueService.NonExistentQueue)');
    }, 30_000);
  });
}
