import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ListSchedulesCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { createDynamoDb, type DynamoDbService } from '../../local/aws/dynamodb';
import { type AwsEdge, createAwsEdge, supportedOperations } from '../../local/aws/edge';
import { createEventBridge, type EventBridgeService } from '../../local/aws/eventbridge';
import { AwsError, type AwsService, type CallRecord } from '../../local/aws/protocol';
import { createScheduler } from '../../local/aws/scheduler';
import { SimulatedClock } from '../../local/clock';
import { crossSiteTextPost, loopbackHosts, rawRequest, rebindingHost } from './support/browser-requests';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** A service that fails the way a bug would, to check the edge hides the details. */
const brokenService: AwsService & { operations: string[] } = {
  name: 'broken',
  operations: ['Explode', 'Refuse'],
  matches: (req) => req.target?.startsWith('Broken.') ?? false,
  operation: (req) => (req.target ?? '').slice('Broken.'.length),
  async handle(req) {
    if (req.target === 'Broken.Refuse') throw new AwsError('AccessDeniedException', 'No, thank you');
    throw new Error('secret internal detail');
  },
};

async function rawCall(port: number, init: { path?: string; method?: string; target?: string; body?: string }) {
  const response = await fetch(`http://127.0.0.1:${port}${init.path ?? '/'}`, {
    method: init.method ?? 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      authorization:
        'AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/x/aws4_request, SignedHeaders=host, Signature=x',
      ...(init.target ? { 'x-amz-target': init.target } : {}),
    },
    ...(init.method === 'GET' ? {} : { body: init.body ?? '{}' }),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

describe('local AWS edge', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-edge-'));
  const dbPath = join(dir, 'dynamodb');
  const calls: CallRecord[] = [];
  const internalErrors: unknown[] = [];
  let dynamodb: DynamoDbService;
  let events: EventBridgeService;
  let edge: AwsEdge;
  let port: number;

  async function start(): Promise<void> {
    dynamodb = createDynamoDb({ path: dbPath });
    events = createEventBridge({ file: join(dir, 'events.json'), now: () => new Date('2030-01-02T03:04:05.000Z') });
    edge = createAwsEdge({
      services: [dynamodb, events, brokenService],
      callLog: { record: (entry) => calls.push(entry) },
      executionIdOf: (req) => req.headers['x-test-execution'] as string | undefined,
      now: () => new Date('2030-01-02T03:04:05.000Z'),
      maxBodyBytes: 64 * 1024,
      onInternalError: (error) => internalErrors.push(error),
    });
    const server = await edge.listen(0);
    port = (server.address() as { port: number }).port;
  }

  async function stop(): Promise<void> {
    await edge.close();
    await dynamodb.close();
  }

  function clients() {
    const config = { endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials };
    const db = new DynamoDBClient(config);
    return { db, doc: DynamoDBDocumentClient.from(db), events: new EventBridgeClient(config) };
  }

  beforeAll(start);
  afterAll(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('DynamoDB (dynalite)', () => {
    it('creates a table with a GSI that is ACTIVE at once', async () => {
      const { db } = clients();
      await db.send(
        new CreateTableCommand({
          TableName: 'Records',
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'S' },
            { AttributeName: 'gsi1pk', AttributeType: 'S' },
            { AttributeName: 'gsi1sk', AttributeType: 'S' },
          ],
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          GlobalSecondaryIndexes: [
            {
              IndexName: 'byOwner',
              KeySchema: [
                { AttributeName: 'gsi1pk', KeyType: 'HASH' },
                { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
              ],
              Projection: { ProjectionType: 'ALL' },
            },
          ],
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 20));

      const described = await db.send(new DescribeTableCommand({ TableName: 'Records' }));

      expect(described.Table?.TableStatus).toBe('ACTIVE');
      expect(described.Table?.GlobalSecondaryIndexes?.[0]?.IndexStatus).toBe('ACTIVE');
      expect(described.Table?.TableArn).toBe('arn:aws:dynamodb:us-east-1:000000000000:table/Records');
    });

    it('rejects a second conditional put with ConditionalCheckFailedException', async () => {
      const { doc } = clients();
      const item = { pk: 'REQ#1', sk: 'REQ', gsi1pk: 'REQUESTER#alice@example.com', gsi1sk: '2030-01-01#1' };
      const put = () =>
        doc.send(new PutCommand({ TableName: 'Records', Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));

      await put();

      await expect(put()).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    });

    it('queries the GSI', async () => {
      const { doc } = clients();
      await doc.send(
        new PutCommand({
          TableName: 'Records',
          Item: { pk: 'REQ#2', sk: 'REQ', gsi1pk: 'REQUESTER#alice@example.com', gsi1sk: '2030-01-02#2' },
        }),
      );

      const result = await doc.send(
        new QueryCommand({
          TableName: 'Records',
          IndexName: 'byOwner',
          KeyConditionExpression: 'gsi1pk = :owner',
          ExpressionAttributeValues: { ':owner': 'REQUESTER#alice@example.com' },
          ScanIndexForward: false,
        }),
      );

      expect(result.Items?.map((i) => i.pk)).toEqual(['REQ#2', 'REQ#1']);
    });

    it('answers an operation dynalite lacks with UnknownOperationException naming it', async () => {
      const { doc } = clients();

      const attempt = doc.send(
        new TransactWriteCommand({ TransactItems: [{ Put: { TableName: 'Records', Item: { pk: 'x', sk: 'y' } } }] }),
      );

      await expect(attempt).rejects.toMatchObject({
        name: 'UnknownOperationException',
        message: expect.stringContaining('TransactWriteItems'),
      });
    });

    it('keeps tables and items across a restart on the same path', async () => {
      await stop();
      await start();
      const { db, doc } = clients();

      const tables = await db.send(new ListTablesCommand({}));
      const item = await doc.send(new GetCommand({ TableName: 'Records', Key: { pk: 'REQ#1', sk: 'REQ' } }));

      expect(tables.TableNames).toEqual(['Records']);
      expect(item.Item).toEqual({
        pk: 'REQ#1',
        sk: 'REQ',
        gsi1pk: 'REQUESTER#alice@example.com',
        gsi1sk: '2030-01-01#1',
      });
    });
  });

  describe('EventBridge', () => {
    it('accepts valid entries, reports invalid ones per entry, and persists what it accepted', async () => {
      const { events: client } = clients();

      const result = await client.send(
        new PutEventsCommand({
          Entries: [
            {
              Source: 'token-warden',
              DetailType: 'TokenIssued',
              Detail: JSON.stringify({ tokenId: 't1' }),
              EventBusName: 'arn:aws:events:us-east-1:000000000000:event-bus/warden',
            },
            { Source: 'token-warden', DetailType: 'TokenIssued' },
            { Source: 'token-warden', DetailType: 'TokenIssued', Detail: '{not json' },
            { DetailType: 'TokenIssued', Detail: '{}' },
          ],
        }),
      );

      expect(result.FailedEntryCount).toBe(3);
      expect(result.Entries?.[0]?.EventId).toMatch(/^[0-9a-f-]{36}$/);
      expect(result.Entries?.slice(1)).toEqual([
        {
          ErrorCode: 'InvalidArgument',
          ErrorMessage: 'Parameter Detail is not valid. Reason: Detail is a required argument.',
        },
        { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
        {
          ErrorCode: 'InvalidArgument',
          ErrorMessage: 'Parameter Source is not valid. Reason: Source is a required argument.',
        },
      ]);
      const expected = {
        version: '0',
        id: result.Entries?.[0]?.EventId,
        'detail-type': 'TokenIssued',
        source: 'token-warden',
        account: '000000000000',
        time: '2030-01-02T03:04:05Z',
        region: 'us-east-1',
        resources: [],
        detail: { tokenId: 't1' },
        eventBusName: 'warden',
      };
      expect(events.listEvents()).toEqual([expected]);
      expect(createEventBridge({ file: join(dir, 'events.json') }).listEvents()).toEqual([expected]);
    });

    it('rejects more than ten entries with ValidationException', async () => {
      const { events: client } = clients();
      const entry = { Source: 's', DetailType: 'd', Detail: '{}' };

      const attempt = client.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => entry) }));

      await expect(attempt).rejects.toMatchObject({ name: 'ValidationException' });
    });
  });

  describe('routing and errors', () => {
    it('answers an unknown X-Amz-Target with an awsJson UnknownOperationException naming it', async () => {
      const response = await rawCall(port, { target: 'Kinesis_20131202.PutRecord' });

      expect(response.status).toBe(400);
      expect(response.body.__type).toBe('UnknownOperationException');
      expect(response.body.message).toContain('Kinesis_20131202.PutRecord');
    });

    it('answers an unknown REST path with a restJson UnknownOperationException naming it', async () => {
      const response = await rawCall(port, { method: 'GET', path: '/2015-03-31/functions' });

      expect(response.status).toBe(404);
      expect(response.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
      expect(response.body.message).toContain('GET /2015-03-31/functions');
    });

    it('answers an operation the matched service does not emulate with an error naming it', async () => {
      const response = await rawCall(port, { target: 'AWSEvents.PutRule' });

      expect(response.status).toBe(400);
      expect(response.body.__type).toBe('UnknownOperationException');
      expect(response.body.message).toContain('PutRule');
    });

    it('turns an unexpected failure into 500 InternalFailure without internals', async () => {
      const response = await rawCall(port, { target: 'Broken.Explode' });

      expect(response.status).toBe(500);
      expect(response.body.__type).toBe('InternalFailure');
      expect(JSON.stringify(response.body)).not.toMatch(/secret internal detail|\bat .*\.ts:\d+/);
      expect(internalErrors).toEqual([expect.objectContaining({ message: 'secret internal detail' })]);
    });

    it('passes an AwsError thrown by a service through as an AWS-shaped error', async () => {
      const response = await rawCall(port, { target: 'Broken.Refuse' });

      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ __type: 'AccessDeniedException', message: 'No, thank you' });
    });

    it('refuses a body over the limit with 413', async () => {
      const response = await rawCall(port, { target: 'AWSEvents.PutEvents', body: 'x'.repeat(65 * 1024) });

      expect(response.status).toBe(413);
      expect(response.body.__type).toBe('RequestEntityTooLarge');
    });

    it('records every call in the call log', async () => {
      calls.length = 0;
      const { doc } = clients();
      doc.middlewareStack.add(
        (next) => async (args) => {
          (args.request as { headers: Record<string, string> }).headers['x-test-execution'] = 'exec-1';
          return next(args);
        },
        { step: 'build' },
      );
      const item = { pk: 'REQ#1', sk: 'REQ' };

      await doc.send(new GetCommand({ TableName: 'Records', Key: item }));
      await expect(
        doc.send(new PutCommand({ TableName: 'Records', Item: item, ConditionExpression: 'attribute_not_exists(pk)' })),
      ).rejects.toThrow();
      await rawCall(port, { target: 'Nope.Nothing' });

      expect(calls).toEqual([
        {
          at: '2030-01-02T03:04:05.000Z',
          service: 'dynamodb',
          operation: 'GetItem',
          durationMs: expect.any(Number),
          status: 200,
          executionId: 'exec-1',
        },
        {
          at: '2030-01-02T03:04:05.000Z',
          service: 'dynamodb',
          operation: 'PutItem',
          durationMs: expect.any(Number),
          status: 400,
          executionId: 'exec-1',
          errorCode: 'ConditionalCheckFailedException',
        },
        {
          at: '2030-01-02T03:04:05.000Z',
          service: 'unknown',
          operation: 'Nope.Nothing',
          durationMs: expect.any(Number),
          status: 400,
          errorCode: 'UnknownOperationException',
        },
      ]);
    });

    it('lists the operations every service supports', () => {
      const supported = supportedOperations([dynamodb, events, brokenService]);

      expect(supported.events).toEqual(['PutEvents']);
      expect(supported.broken).toEqual(['Explode', 'Refuse']);
      expect(supported.dynamodb).toEqual(expect.arrayContaining(['PutItem', 'Query', 'UpdateItem', 'CreateTable']));
      expect(supported.dynamodb).not.toContain('TransactWriteItems');
    });

    it('rejects listen on a port in use with a clear error', async () => {
      const blocker: Server = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      const taken = (blocker.address() as { port: number }).port;
      const other = createAwsEdge({ services: [] });

      try {
        await expect(other.listen(taken)).rejects.toThrow(`port ${taken} is already in use`);
      } finally {
        await new Promise((resolve) => blocker.close(resolve));
      }
    });

    it("stamps each answer's Date with the caller's time, so a failed conditional write is not resent as clock skew", async () => {
      const skewDir = mkdtempSync(join(tmpdir(), 'tw-edge-date-'));
      const db = createDynamoDb({ path: join(skewDir, 'dynamodb') });
      const log: CallRecord[] = [];
      let serverDate = new Date();
      const dated = createAwsEdge({
        services: [db],
        callLog: { record: (entry) => log.push(entry) },
        dateFor: () => serverDate,
      });
      const server = await dated.listen(0);
      const endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const client = () =>
        DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint, region: 'us-east-1', credentials }));
      const conditionalFailures = () =>
        log.filter((c) => c.operation === 'PutItem' && c.errorCode === 'ConditionalCheckFailedException').length;
      const putTwice = async () => {
        const doc = client();
        const put = () =>
          doc.send(
            new PutCommand({ TableName: 'dated', Item: { pk: 'a' }, ConditionExpression: 'attribute_not_exists(pk)' }),
          );
        await put().catch(() => undefined);
        await expect(put()).rejects.toThrow(expect.objectContaining({ name: 'ConditionalCheckFailedException' }));
      };
      try {
        await client().send(
          new CreateTableCommand({
            TableName: 'dated',
            AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
            KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
            BillingMode: 'PAY_PER_REQUEST',
          }),
        );
        // The caller's clock agrees with the answer: the refused write is sent once.
        await putTwice();
        expect(conditionalFailures()).toBe(1);
        // Answers dated three days ahead of the caller (a sandbox on the simulated clock answered with wall-clock
        // time, or the reverse): the SDK corrects its clock and sends each refused write again (here: both).
        serverDate = new Date(Date.now() + 3 * 86_400_000);
        await putTwice();
        expect(conditionalFailures() - 1).toBeGreaterThanOrEqual(4);
      } finally {
        await dated.close();
        await db.close();
        rmSync(skewDir, { recursive: true, force: true });
      }
    });
  });
  describe('requests a browser page can make (DNS rebinding, cross-site POSTs)', () => {
    const signed = {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': 'DynamoDB_20120810.CreateTable',
      'x-amz-date': '20240101T000000Z',
      authorization:
        'AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x',
    };
    const table = (name: string) =>
      JSON.stringify({
        TableName: name,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      });
    const tables = async () => (await clients().db.send(new ListTablesCommand({}))).TableNames ?? [];

    it('refuses a foreign Host with an AWS-shaped 403 naming it, and does nothing', async () => {
      const url = `http://127.0.0.1:${port}/`;
      const answer = await rawRequest(url, {
        method: 'POST',
        headers: { ...signed, host: rebindingHost(url) },
        body: table('rebound'),
      });

      expect(answer.status).toBe(403);
      const body = JSON.parse(answer.text) as { __type: string; message: string };
      expect(body.__type).toBe('InvalidHostHeaderException');
      expect(body.message).toContain("Host 'rebind.attacker.example:");
      expect(await tables()).not.toContain('rebound');
    });

    it('serves the loopback Host forms, as the SDK and the CLI send them', async () => {
      const url = `http://127.0.0.1:${port}/`;
      const statuses = [];
      for (const [i, host] of loopbackHosts(url).entries()) {
        statuses.push(
          (await rawRequest(url, { method: 'POST', headers: { ...signed, host }, body: table(`lb${i}`) })).status,
        );
      }

      expect(statuses).toEqual(loopbackHosts(url).map(() => 200));
      expect(await tables()).toEqual(expect.arrayContaining(loopbackHosts(url).map((_, i) => `lb${i}`)));
    });

    it('refuses an unsigned cross-site text/plain POST to a REST route as AWS does, creating no schedule', async () => {
      const clock = new SimulatedClock();
      const fired: unknown[] = [];
      const scheduler = createScheduler({ clock, fireTarget: async (target) => void fired.push(target) });
      const restEdge = createAwsEdge({ services: [scheduler] });
      const server = await restEdge.listen(0);
      const endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const client = new SchedulerClient({ endpoint, region: 'us-east-1', credentials });
      try {
        const answer = await crossSiteTextPost(
          `${endpoint}/schedules/planted`,
          JSON.stringify({
            ScheduleExpression: 'rate(1 minute)',
            FlexibleTimeWindow: { Mode: 'OFF' },
            Target: {
              Arn: 'arn:aws:states:us-east-1:000000000000:stateMachine:Rotation',
              RoleArn: 'arn:aws:iam::000000000000:role/x',
            },
          }),
        );

        expect(answer.status).toBe(403);
        expect(answer.headers['x-amzn-errortype']).toMatch(/^MissingAuthenticationTokenException/);
        expect((await client.send(new ListSchedulesCommand({}))).Schedules).toEqual([]);
      } finally {
        client.destroy();
        scheduler.close();
        clock.stop();
        await restEdge.close();
      }
    });
  });
});
