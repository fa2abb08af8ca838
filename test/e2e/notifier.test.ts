/**
 * End to end: lifecycle events reach the policy's Slack channel through the real path — the function publishes
 * on the bus, the rule sends the event to the notifier's queue, the event source mapping invokes the notifier, and
 * the notifier posts to the webhook URL it reads from the channel's secret, which the runtime seeded with its local
 * sink. Faults of the sink drive the back-off, the duplicate and the refused-for-good paths. The policy is the
 * shipped one plus a Microsoft Teams channel that hears only issued jenkins-bot tokens.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand, ListQueuesCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { parseDocument } from 'yaml';
import { LocalRuntime, type RequestView, requestBody, SEED, waitFor } from '../../local/driver';
import { awsClientConfig, scanForLeaks } from './support/leaks';

jest.setTimeout(300_000);

/** The shipped policy's one chat channel, and the sink its secret points at. */
const SECRET = 'token-warden/chat/slack-security';
const SINK = 'slack-security';
const WAIT_MS = 60_000;
/** The Teams channel this test adds to the shipped policy, and its sink. */
const TEAMS_SECRET = 'token-warden/chat/teams-platform';
const TEAMS_SINK = 'teams-platform';
const policyFile = join(tmpdir(), `token-warden-e2e-notifier-policy-${process.pid}.yaml`);

/** The shipped policy (its Slack channel as shipped) with a Teams channel for ISSUED of jenkins-bot. */
function writePolicy(): void {
  const doc = parseDocument(readFileSync(join(__dirname, '../../policy/policy.yaml'), 'utf8'));
  const chat = (doc.toJS() as { notifications: { chat: { webhookSecretName: string }[] } }).notifications.chat;
  expect(chat.map((c) => c.webhookSecretName)).toEqual([SECRET]);
  doc.setIn(
    ['notifications', 'chat'],
    [...chat, { kind: 'teams', webhookSecretName: TEAMS_SECRET, events: ['ISSUED'], serviceAccounts: ['jenkins-bot'] }],
  );
  writeFileSync(policyFile, doc.toString());
}

interface Delivery {
  name: string;
  body: { text?: unknown; blocks?: unknown };
  at: string;
}

interface CallRecord {
  at: string;
  service: string;
  operation: string;
  status: number;
}

interface StoredEvent {
  id: string;
  detail: { event: string; requestId: string; eventId: string };
  eventBusName: string;
  [key: string]: unknown;
}

let rt: LocalRuntime;
let alice: string;
let sqs: SQSClient;
let queues: { events: string; deadLetters: string };

beforeAll(async () => {
  writePolicy();
  rt = await LocalRuntime.start('notifier', { policy: policyFile });
  alice = await rt.memberToken(SEED.alice);
  sqs = new SQSClient(awsClientConfig(rt));
  queues = await notifierQueues();
});

afterAll(async () => {
  sqs?.destroy();
  await rt?.dispose();
  rmSync(policyFile, { force: true });
});

/** The notifier's queue (the one with a redrive policy) and its dead-letter queue, from the AWS endpoint. */
async function notifierQueues(): Promise<{ events: string; deadLetters: string }> {
  const { QueueUrls = [] } = await sqs.send(new ListQueuesCommand({}));
  for (const url of QueueUrls) {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['RedrivePolicy'] }),
    );
    if (!Attributes?.RedrivePolicy) continue;
    const { deadLetterTargetArn } = JSON.parse(Attributes.RedrivePolicy) as { deadLetterTargetArn: string };
    const dlqName = deadLetterTargetArn.split(':').pop() ?? '';
    const deadLetters = QueueUrls.find((u) => u.endsWith(`/${dlqName}`));
    if (deadLetters) return { events: url, deadLetters };
  }
  throw new Error(`no queue with a dead-letter queue among ${QueueUrls.join(', ')}`);
}

/** Messages in a queue: visible, in flight and delayed. */
async function depth(queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages) +
    Number(Attributes.ApproximateNumberOfMessagesNotVisible) +
    Number(Attributes.ApproximateNumberOfMessagesDelayed)
  );
}

/** Waits until the notifier's queue holds nothing (every event handled and deleted). */
async function untilDrained(): Promise<void> {
  await waitFor(async () => (await depth(queues.events)) === 0, WAIT_MS, "the notifier's queue to drain");
}

async function deliveries(sink = SINK): Promise<Delivery[]> {
  const answer = await rt.http(`${rt.urls.api}/local/webhooks?name=${sink}`);
  expect(answer.status).toBe(200);
  return (answer.json as { items: Delivery[] }).items;
}

/** The messages about one request (each names it in its `Request` row). */
async function messagesAbout(requestId: string): Promise<Delivery[]> {
  return (await deliveries()).filter((d) => JSON.stringify(d.body).includes(requestId));
}

/** The header of a Slack message (Block Kit's first block). */
function headerOf(delivery: Delivery): string {
  const [first] = (Array.isArray(delivery.body.blocks) ? delivery.body.blocks : []) as {
    type?: string;
    text?: { text?: string };
  }[];
  return first?.type === 'header' ? String(first.text?.text ?? '') : '';
}

/** Which lifecycle event a message tells, from its header. */
function eventOf(delivery: Delivery): string {
  const header = headerOf(delivery);
  if (/^Approval needed:/.test(header)) return 'REQUESTED';
  if (/Token Request Approved/.test(header)) return 'APPROVED';
  if (/^Token request issued:/.test(header)) return 'ISSUED';
  return `other: ${header}`;
}

/** Every absolute URL in a message (Slack's `<url|text>` links included). */
function linksOf(delivery: Delivery): string[] {
  return [...new Set(JSON.stringify(delivery.body).match(/https?:\/\/[^\s"<>|\\]+/g) ?? [])];
}

async function submit(name: string): Promise<RequestView> {
  const created = await rt.api('POST', '/token-requests', { token: alice, body: requestBody(name) });
  expect(created.status).toBe(202);
  return created.json as RequestView;
}

async function approve(requestId: string): Promise<RequestView> {
  const [link] = await rt.waitForApprovalLinks(requestId, 2);
  const { answer } = await rt.decide(link!.link, 'approve');
  expect(answer.status).toBe(200);
  return rt.waitForStatus(alice, requestId, 'ISSUED');
}

async function calls(): Promise<CallRecord[]> {
  return ((await rt.http(`${rt.urls.api}/local/calls`)).json as { calls: CallRecord[] }).calls;
}

async function metric(name: string): Promise<number> {
  const answer = await rt.http(`${rt.urls.api}/local/metrics?name=${name}`);
  return ((answer.json as { metrics: { value: number }[] }).metrics ?? []).reduce((sum, p) => sum + p.value, 0);
}

async function setFault(fault: { status: number; count?: number; retryAfterSeconds?: number }): Promise<void> {
  const answer = await rt.api('POST', `/local/webhooks/${SINK}/faults`, { body: fault });
  expect(answer.status).toBe(200);
}

async function advanceSeconds(seconds: number): Promise<void> {
  const answer = await rt.api('POST', '/local/clock/advance', { body: { seconds } });
  expect(answer.status).toBe(200);
  expect((answer.json as { settled: boolean }).settled).toBe(true);
}

function functionLog(): string {
  return readFileSync(join(rt.dataDir, 'logs', 'functions.log'), 'utf8');
}

describe('Chat notifications through the local runtime', () => {
  it("seeds the channel's secret with this runtime's sink URL", async () => {
    // Prepare
    const sm = new SecretsManagerClient(awsClientConfig(rt));

    // Act
    const { SecretString } = await sm.send(new GetSecretValueCommand({ SecretId: SECRET })).finally(() => sm.destroy());

    // Assess
    expect(SecretString).toBe(`${rt.urls.api}/local/webhooks/${SINK}`);
  });

  it("posts REQUESTED as a Slack message linking to the console, never to an approver's own link", async () => {
    // Prepare
    const { requestId } = await submit('notify-requested');

    // Act
    const [message] = await waitFor(
      async () => {
        const found = await messagesAbout(requestId);
        return found.length > 0 && found;
      },
      WAIT_MS,
      'the REQUESTED message',
    );

    // Assess
    expect(eventOf(message!)).toBe('REQUESTED');
    expect(typeof message!.body.text).toBe('string');
    expect(String(message!.body.text)).toContain('jenkins-bot');
    expect(Array.isArray(message!.body.blocks) && message!.body.blocks.length).toBeGreaterThan(1);
    const links = linksOf(message!);
    expect(links).toEqual([`${rt.urls.api}/console/approvals`]);
    const approverLinks = (await rt.waitForApprovalLinks(requestId, 2)).map((l) => l.link);
    expect(approverLinks).toHaveLength(2);
    const text = JSON.stringify(message!.body);
    for (const link of approverLinks) expect(text).not.toContain(new URL(link).pathname);
    expect(text).not.toMatch(/sig=/);
    await untilDrained();
    expect((await messagesAbout(requestId)).map(eventOf)).toEqual(['REQUESTED']);
  });

  it('posts APPROVED and ISSUED once the approver approves, with no token value in them', async () => {
    // Prepare
    const { requestId } = await submit('notify-issued');
    await waitFor(async () => (await messagesAbout(requestId)).length === 1, WAIT_MS, 'the REQUESTED message');

    // Act
    const issued = await approve(requestId);
    const messages = await waitFor(
      async () => {
        const found = await messagesAbout(requestId);
        return found.length >= 3 && found;
      },
      WAIT_MS,
      'the APPROVED and ISSUED messages',
    );

    // Assess
    await untilDrained();
    expect((await messagesAbout(requestId)).map(eventOf).sort()).toEqual(['APPROVED', 'ISSUED', 'REQUESTED']);
    const issuedMessage = messages.find((m) => eventOf(m) === 'ISSUED');
    expect(issued.tokenId).toBeDefined();
    expect(linksOf(issuedMessage!)).toEqual([`${rt.urls.api}/console/tokens/${issued.tokenId}`]);
    const sm = new SecretsManagerClient(awsClientConfig(rt));
    const { SecretString: token } = await sm
      .send(new GetSecretValueCommand({ SecretId: issued.secretName }))
      .finally(() => sm.destroy());
    expect(token?.length).toBeGreaterThanOrEqual(20);
    for (const m of await deliveries()) expect(JSON.stringify(m.body)).not.toContain(token);
  });

  it("posts ISSUED to the Teams channel as an Adaptive Card linking to the token's page, and nothing else", async () => {
    // Prepare
    const { requestId } = await submit('notify-teams');

    // Act
    const issued = await approve(requestId);
    const [card, ...more] = await waitFor(
      async () => {
        // Card text is Markdown-escaped (`req\_…`): the token name has nothing to escape.
        const found = (await deliveries(TEAMS_SINK)).filter((d) => JSON.stringify(d.body).includes('"notify-teams"'));
        return found.length > 0 && found;
      },
      WAIT_MS,
      'the Teams card',
    );

    // Assess: a Workflows webhook message holding one Adaptive Card 1.4.
    await untilDrained();
    expect(more).toEqual([]);
    const body = card!.body as unknown as {
      type: string;
      attachments: { contentType: string; content: { type: string; version: string; body: { text?: string }[] } }[];
    };
    expect(body.type).toBe('message');
    expect(body.attachments).toHaveLength(1);
    expect(body.attachments[0]!.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(body.attachments[0]!.content).toMatchObject({ type: 'AdaptiveCard', version: '1.4' });
    expect(body.attachments[0]!.content.body[0]!.text).toMatch(/^Token request issued: jenkins-bot/);
    expect(linksOf(card!).filter((l) => !l.startsWith('http://adaptivecards.io/'))).toEqual([
      `${rt.urls.api}/console/tokens/${issued.tokenId}`,
    ]);
    // The channel hears ISSUED only: the request's REQUESTED and APPROVED went to Slack alone.
    expect((await messagesAbout(requestId)).map(eventOf).sort()).toEqual(['APPROVED', 'ISSUED', 'REQUESTED']);
  });

  it('waits as a 429 Retry-After asks, then delivers the message exactly once', async () => {
    // Prepare
    await untilDrained();
    await setFault({ status: 429, count: 1, retryAfterSeconds: 120 });
    const callsBefore = (await calls()).length;
    const { requestId } = await submit('notify-rate-limited');

    // Act: the notifier is refused and hides the message for the 120 s asked for; then simulated time passes.
    const delayed = await waitFor(
      async () =>
        (await calls())
          .slice(callsBefore)
          .find((c) => c.service === 'sqs' && c.operation === 'ChangeMessageVisibility' && c.status === 200),
      WAIT_MS,
      'the notifier to delay the refused message',
    );
    const beforeBackOff = await messagesAbout(requestId);
    await advanceSeconds(121);
    const [delivered] = await waitFor(
      async () => {
        const found = await messagesAbout(requestId);
        return found.length > 0 && found;
      },
      WAIT_MS,
      'the REQUESTED message after the back-off',
    );

    // Assess
    expect(beforeBackOff).toEqual([]);
    expect(Date.parse(delivered!.at) - Date.parse(delayed.at)).toBeGreaterThanOrEqual(119_000);
    await untilDrained();
    expect((await messagesAbout(requestId)).map(eventOf)).toEqual(['REQUESTED']);
    expect(await depth(queues.deadLetters)).toBe(0);
  });

  it('sends nothing twice when the queue delivers an event again', async () => {
    // Prepare: an event the notifier has already told the channel.
    const { requestId } = await submit('notify-duplicate');
    await waitFor(async () => (await messagesAbout(requestId)).length === 1, WAIT_MS, 'the REQUESTED message');
    await untilDrained();
    const events = ((await rt.http(`${rt.urls.api}/local/events`)).json as { events: StoredEvent[] }).events;
    const stored = events.find((e) => e.detail.event === 'REQUESTED' && e.detail.requestId === requestId);
    expect(stored).toBeDefined();
    const { eventBusName: _bus, ...envelope } = stored!;
    const invocations = async () =>
      (await calls()).filter((c) => c.service === 'lambda' && /^Invoke .*Notifier/.test(c.operation)).length;
    const invokedBefore = await invocations();

    // Act: the same envelope twice more, as SQS's at-least-once delivery may hand it over.
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queues.events,
        Entries: [
          { Id: 'again-1', MessageBody: JSON.stringify(envelope) },
          { Id: 'again-2', MessageBody: JSON.stringify(envelope) },
        ],
      }),
    );
    await waitFor(async () => (await invocations()) > invokedBefore, WAIT_MS, 'the notifier to take the copies');
    await untilDrained();

    // Assess
    expect(sent.Failed ?? []).toEqual([]);
    expect((await messagesAbout(requestId)).map(eventOf)).toEqual(['REQUESTED']);
    expect(await depth(queues.deadLetters)).toBe(0);
  });

  it('records a 400 as refused for good, counts it, and does not send that message again', async () => {
    // Prepare
    await untilDrained();
    const rejectedBefore = await metric('ChatMessagesRejected');
    await setFault({ status: 400, count: 1 });

    // Act
    const { requestId } = await submit('notify-refused');
    await waitFor(
      async () => (await metric('ChatMessagesRejected')) === rejectedBefore + 1,
      WAIT_MS,
      'the ChatMessagesRejected metric',
    );
    await untilDrained();
    // Long past the queue's visibility timeout: a message left for a retry would have come back by now.
    await advanceSeconds(3600);
    await untilDrained();

    // Assess
    expect(await messagesAbout(requestId)).toEqual([]);
    expect(await metric('ChatMessagesRejected')).toBe(rejectedBefore + 1);
    expect(await depth(queues.deadLetters)).toBe(0);
    const refusals = functionLog()
      .split('\n')
      .filter((line) => line.includes('chat message refused for good') && line.includes(SECRET));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toContain('"status":400');
    expect(refusals[0]).not.toContain('/local/webhooks/');
    // The channel still hears the request's later events.
    await approve(requestId);
    await waitFor(async () => (await messagesAbout(requestId)).length === 2, WAIT_MS, 'APPROVED and ISSUED');
    await untilDrained();
    expect((await messagesAbout(requestId)).map(eventOf).sort()).toEqual(['APPROVED', 'ISSUED']);
  });

  // Runs last: it reads everything the scenarios above produced.
  it('leaves no token value or webhook URL in anything the run produced', async () => {
    // Act
    const report = await scanForLeaks(rt);

    // Assess
    expect(report.secrets.map((s) => s.label)).toEqual(
      expect.arrayContaining([expect.stringContaining(SECRET), expect.stringContaining(TEAMS_SECRET)]),
    );
    expect(report.sources).toEqual(expect.arrayContaining(['data dir: webhooks.json']));
    expect(report.secretLeaks).toEqual([]);
    expect(report.taskTokenLeaks).toEqual([]);
  });
});
