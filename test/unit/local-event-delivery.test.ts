/**
 * The event delivery of the local runtime, driven from a synthetic template as CDK would synthesize it: an
 * EventBridge rule on a custom bus targets a queue with a dead-letter queue, and an SQS event source mapping with
 * ReportBatchItemFailures feeds a tiny function. Everything real runs: the template reader, the AWS edge with
 * EventBridge and SQS, the Lambda sandboxes and the simulated clock.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { CloudFormationTemplate } from '../../lib/synth/resolve-template';
import { type AwsEdge, createAwsEdge } from '../../local/aws/edge';
import { createEventBridge } from '../../local/aws/eventbridge';
import { createSqs } from '../../local/aws/sqs';
import { SimulatedClock } from '../../local/clock';
import { provisionMessaging } from '../../local/event-delivery';
import { LambdaRunner } from '../../local/lambda-runner';
import { queueIdentities, readMessaging } from '../../local/messaging';
import { type SqsPollers, startSqsPollers } from '../../local/sqs-event-source';

/** The notifier stand-in: records each record it sees; `detail.mode` says how it answers. */
const HANDLER = `
const { appendFileSync } = require('node:fs');
exports.handler = async (event) => {
  const failures = [];
  let crash = false;
  for (const record of event.Records) {
    const envelope = JSON.parse(record.body);
    const mode = envelope.detail.mode;
    const count = Number(record.attributes.ApproximateReceiveCount);
    appendFileSync(process.env.SEEN_FILE, JSON.stringify({ ...record, envelope }) + '\\n');
    if (mode === 'fail-once' && count === 1) failures.push({ itemIdentifier: record.messageId });
    if (mode === 'crash') crash = true;
  }
  if (crash) throw new Error('webhook answered 500');
  return { batchItemFailures: failures };
};
`;

function template(assetPath: string, seenFile: string): CloudFormationTemplate {
  return {
    Resources: {
      NotifierDlq: { Type: 'AWS::SQS::Queue', Properties: { MessageRetentionPeriod: 1209600 } },
      NotifierQueue: {
        Type: 'AWS::SQS::Queue',
        Properties: {
          VisibilityTimeout: 30,
          RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['NotifierDlq', 'Arn'] }, maxReceiveCount: 2 },
        },
      },
      Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'token-warden' } },
      NotifyRule: {
        Type: 'AWS::Events::Rule',
        Properties: {
          EventBusName: { Ref: 'Bus' },
          EventPattern: {
            source: ['token-warden'],
            account: [{ Ref: 'AWS::AccountId' }],
            detail: { type: [{ prefix: 'NOTIFY_' }] },
          },
          State: 'ENABLED',
          Targets: [{ Arn: { 'Fn::GetAtt': ['NotifierQueue', 'Arn'] }, Id: 'Target0' }],
        },
      },
      Notifier: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          Handler: 'index.handler',
          Timeout: 10,
          MemorySize: 128,
          Role: { 'Fn::GetAtt': ['NotifierRole', 'Arn'] },
          Environment: { Variables: { SEEN_FILE: seenFile } },
        },
        Metadata: { 'aws:asset:path': assetPath },
      } as CloudFormationTemplate['Resources'][string],
      NotifierRole: { Type: 'AWS::IAM::Role', Properties: {} },
      NotifierSqsEventSource: {
        Type: 'AWS::Lambda::EventSourceMapping',
        Properties: {
          EventSourceArn: { 'Fn::GetAtt': ['NotifierQueue', 'Arn'] },
          FunctionName: { Ref: 'Notifier' },
          BatchSize: 10,
          FunctionResponseTypes: ['ReportBatchItemFailures'],
        },
      },
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

interface Seen {
  messageId: string;
  eventSource: string;
  eventSourceARN: string;
  awsRegion: string;
  attributes: Record<string, string>;
  envelope: { source: string; 'detail-type': string; detail: { mode: string; n: number }; [key: string]: unknown };
}

describe('event delivery: rule → queue (+DLQ) → event source mapping → function', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-delivery-'));
  const seenFile = join(dir, 'seen.jsonl');
  const clock = new SimulatedClock();
  const sqs = createSqs({ clock });
  const events = createEventBridge({
    now: () => clock.now(),
    deliver: (target, text) => void sqs.sendToArn(target.arn, text),
  });
  let edge: AwsEdge;
  let awsUrl = '';
  let runner: LambdaRunner;
  let pollers: SqsPollers;
  let eventBridge: EventBridgeClient;
  let sqsClient: SQSClient;

  const seen = (): Seen[] =>
    existsSync(seenFile)
      ? readFileSync(seenFile, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Seen)
      : [];
  const seenWith = (n: number) => seen().filter((s) => s.envelope.detail.n === n);

  /** Waits (wall time, briefly) until the function has seen `count` records. */
  async function untilSeen(count: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (seen().length < count) {
      if (Date.now() > deadline) throw new Error(`the function saw ${seen().length} records, not ${count}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Let the poller finish the batch (deletes) after the function returned.
    await clock.quiesce(Date.now() + 5_000);
  }

  async function counts(queue: string) {
    const { Attributes } = await sqsClient.send(
      new GetQueueAttributesCommand({
        QueueUrl: `${awsUrl}/000000000000/${queue}`,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return {
      visible: Number(Attributes?.ApproximateNumberOfMessages),
      inFlight: Number(Attributes?.ApproximateNumberOfMessagesNotVisible),
    };
  }

  async function put(...entries: { mode: string; n: number; type?: string }[]) {
    const result = await eventBridge.send(
      new PutEventsCommand({
        Entries: entries.map(({ type = 'NOTIFY_ISSUED', ...detail }) => ({
          EventBusName: 'token-warden',
          Source: 'token-warden',
          DetailType: 'Token Issued',
          Detail: JSON.stringify({ type, ...detail }),
        })),
      }),
    );
    expect(result.FailedEntryCount).toBe(0);
  }

  beforeAll(async () => {
    const asset = join(dir, 'asset.notifier');
    mkdirSync(asset);
    writeFileSync(join(asset, 'index.js'), HANDLER);
    const port = await freePort();
    awsUrl = `http://127.0.0.1:${port}`;
    edge = createAwsEdge({ services: [events, sqs] });
    await edge.listen(port);

    const synthetic = template('asset.notifier', seenFile);
    const messaging = readMessaging(synthetic, queueIdentities(synthetic, awsUrl));
    await provisionMessaging({ messaging, events, awsUrl });
    runner = new LambdaRunner({
      functions: [
        {
          logicalId: 'Notifier',
          functionName: 'Notifier',
          assetDir: asset,
          handler: 'index.handler',
          env: { SEEN_FILE: seenFile },
          timeoutSeconds: 10,
          memoryMb: 128,
        },
      ],
      clockOffsetMs: () => clock.nowMs() - Date.now(),
      onLog: () => {},
    });
    pollers = startSqsPollers({
      mappings: messaging.eventSourceMappings,
      sqs,
      invoke: (fn, event) => runner.invoke(fn, event),
      track: (work) => clock.track(work),
      onBatchError: () => {},
    });
    const client = {
      endpoint: awsUrl,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    };
    eventBridge = new EventBridgeClient(client);
    sqsClient = new SQSClient(client);
  }, 30_000);

  afterAll(async () => {
    await pollers?.close();
    sqs.close();
    await runner?.close();
    eventBridge?.destroy();
    sqsClient?.destroy();
    await edge?.close();
    clock.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the template: queues with the dead-letter queue first, the rule and the mapping', () => {
    // Prepare
    const synthetic = template('asset.notifier', seenFile);

    // Act
    const messaging = readMessaging(synthetic, queueIdentities(synthetic, awsUrl));

    // Assess
    expect(messaging.queues.map((q) => q.name)).toEqual(['NotifierDlq', 'NotifierQueue']);
    expect(JSON.parse(messaging.queues[1]?.attributes.RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:NotifierDlq',
      maxReceiveCount: 2,
    });
    expect(messaging.rules).toEqual([
      expect.objectContaining({
        eventBusName: 'token-warden',
        pattern: { source: ['token-warden'], account: ['000000000000'], detail: { type: [{ prefix: 'NOTIFY_' }] } },
        targets: [{ id: 'Target0', arn: 'arn:aws:sqs:us-east-1:000000000000:NotifierQueue' }],
      }),
    ]);
    expect(messaging.eventSourceMappings).toEqual([
      {
        logicalId: 'NotifierSqsEventSource',
        functionName: 'Notifier',
        queueArn: 'arn:aws:sqs:us-east-1:000000000000:NotifierQueue',
        batchSize: 10,
        reportBatchItemFailures: true,
        filters: [],
      },
    ]);
  });

  it('delivers a matching event as EventBridge sends it, in Lambda’s SQS record, and deletes it after success', async () => {
    // Act
    await put({ mode: 'ok', n: 1 }, { mode: 'ok', n: 2, type: 'SOMETHING_ELSE' });
    await untilSeen(1);

    // Assess
    const [record] = seenWith(1);
    expect(record).toMatchObject({
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:NotifierQueue',
      awsRegion: 'us-east-1',
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: expect.stringMatching(/^\d{13}$/) },
    });
    expect(record?.envelope).toEqual({
      version: '0',
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      'detail-type': 'Token Issued',
      source: 'token-warden',
      account: '000000000000',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      region: 'us-east-1',
      resources: [],
      detail: { type: 'NOTIFY_ISSUED', mode: 'ok', n: 1 },
    });
    expect(seenWith(2)).toEqual([]);
    expect(await counts('NotifierQueue')).toEqual({ visible: 0, inFlight: 0 });
  });

  it('retries only the batch item the function reported, after the visibility timeout', async () => {
    // Prepare
    const before = seen().length;
    await put({ mode: 'ok', n: 3 }, { mode: 'fail-once', n: 4 });
    await untilSeen(before + 2);
    expect(await counts('NotifierQueue')).toEqual({ visible: 0, inFlight: 1 });

    // Act
    await clock.advance(31_000);

    // Assess
    expect(seenWith(3).map((s) => s.attributes.ApproximateReceiveCount)).toEqual(['1']);
    expect(seenWith(4).map((s) => s.attributes.ApproximateReceiveCount)).toEqual(['1', '2']);
    expect(await counts('NotifierQueue')).toEqual({ visible: 0, inFlight: 0 });
  });

  it('leaves the whole batch when the function fails, and redrives it to the DLQ after maxReceiveCount', async () => {
    // Prepare
    const before = seen().length;
    await put({ mode: 'crash', n: 5 });
    await untilSeen(before + 1);

    // Act
    await clock.advance(31_000);
    await clock.advance(31_000);

    // Assess
    expect(seenWith(5).map((s) => s.attributes.ApproximateReceiveCount)).toEqual(['1', '2']);
    expect(await counts('NotifierQueue')).toEqual({ visible: 0, inFlight: 0 });
    expect(await counts('NotifierDlq')).toEqual({ visible: 1, inFlight: 0 });
  });
});
