/**
 * 9. Notifier delivery: on the local runtime, the time from a lifecycle event's publication to its messages'
 * arrival — the Slack message at the webhook sink (`GET /local/webhooks`, its `at`) for `REQUESTED`, and each
 * approver's email in the mail store for `APPROVAL_REQUESTED` — over the whole path (bus rule → the notifier's queue
 * → the event source mapping → the notifier → the sink or SES). Baselines in the same run: a direct POST to a sink
 * URL, and the SQS emulator's send → receive round trip on a queue of its own.
 */
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type LocalRuntime, requestBody, SEED } from '../../local/driver';
import { callLog, clientConfig, getJson, httpJson, pollUntil } from '../lib/local';
import { type Row, row, type SectionResult } from '../lib/report';
import { type Figure, figure, quantile, round, sleep } from '../lib/stats';

/** The shipped policy's Slack channel: its secret points at this sink, and it hears `REQUESTED`. */
const SINK = 'slack-security';
/** A sink name no channel uses, for the direct-POST baseline. */
const BASELINE_SINK = 'bench-baseline';
const POLL_MS = 10;
const WAIT_MS = 30_000;

export interface NotifierOptions {
  rt: LocalRuntime;
  /** Measured requests (one unmeasured first one runs before them). */
  samples: number;
  log: (line: string) => void;
}

interface Delivery {
  name: string;
  body: unknown;
  at: string;
}

interface StoredEvent {
  id: string;
  'detail-type': string;
  detail: { event: string; requestId?: string; details?: { approver?: string } };
}

interface Sample {
  requestId: string;
  /** Bench wall clock (ms since the epoch) when the POST was sent and when it was answered. */
  sentWallMs: number;
  answeredWallMs: number;
  /** The Slack message's `at` at the sink (simulated clock, ms). */
  chatAtMs: number;
  /** Per approver: bench wall clock when the poll first saw the email. */
  emailSeenWallMs: Record<string, number>;
  /** Every email about the request once the notifier's queue drained, by recipient. */
  emailsTo: string[];
}

/**
 * Simulated now minus the bench's wall clock (both processes read the same system clock): of a few `GET /local/clock`
 * exchanges, the one with the shortest round trip, taken at its midpoint (its error is at most half that round trip).
 */
async function clockOffset(rt: LocalRuntime): Promise<{ offsetMs: number; roundTripMs: number }> {
  let best = { offsetMs: Number.NaN, roundTripMs: Number.POSITIVE_INFINITY };
  for (let i = 0; i < 7; i++) {
    const before = Date.now();
    const { now } = await getJson<{ now: string }>(`${rt.urls.api}/local/clock`);
    const after = Date.now();
    if (after - before < best.roundTripMs)
      best = { offsetMs: Date.parse(now) - (before + after) / 2, roundTripMs: after - before };
  }
  return best;
}

/** The notifier's queue (the one with a redrive policy). */
async function notifierQueue(sqs: SQSClient): Promise<string> {
  const { QueueUrls = [] } = await sqs.send(new ListQueuesCommand({}));
  for (const url of QueueUrls) {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['RedrivePolicy'] }),
    );
    if (Attributes?.RedrivePolicy) return url;
  }
  throw new Error(`no queue with a dead-letter queue among ${QueueUrls.join(', ')}`);
}

/** Waits until the queue holds nothing visible, in flight or delayed. */
async function untilDrained(sqs: SQSClient, queueUrl: string, timeoutMs = WAIT_MS): Promise<void> {
  await pollUntil(
    async () => {
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
          Number(Attributes.ApproximateNumberOfMessagesDelayed) ===
        0
      );
    },
    timeoutMs,
    "the notifier's queue to drain",
    50,
  );
}

async function sinkDeliveries(rt: LocalRuntime, name: string): Promise<Delivery[]> {
  return (await getJson<{ items: Delivery[] }>(`${rt.urls.api}/local/webhooks?name=${name}`)).items;
}

async function mailAbout(rt: LocalRuntime, requestId: string): Promise<{ to: string[] }[]> {
  const { emails } = await getJson<{ emails: { destination: { to: string[] }; body: { text?: string } }[] }>(
    `${rt.urls.mail}/store`,
  );
  return emails.filter((e) => (e.body.text ?? '').includes(requestId)).map((e) => ({ to: e.destination.to }));
}

/** One request by a member of its own (so no member reaches `maxPendingRequestsPerMember`), polled to delivery. */
async function oneRequest(rt: LocalRuntime, member: string, name: string): Promise<Sample> {
  const token = await rt.memberToken(member);
  const sentWallMs = Date.now();
  const created = await rt.api('POST', '/token-requests', { token, body: requestBody(name) });
  const answeredWallMs = Date.now();
  if (created.status !== 202) throw new Error(`POST /token-requests answered ${created.status}: ${created.text}`);
  const { requestId } = created.json as { requestId: string };
  let chatAtMs: number | undefined;
  const emailSeenWallMs: Record<string, number> = {};
  const approvers = [SEED.approver1, SEED.approver2];
  const deadline = Date.now() + WAIT_MS;
  while (chatAtMs === undefined || approvers.some((a) => emailSeenWallMs[a] === undefined)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for the messages about ${requestId}`);
    const [chat, mail] = await Promise.all([sinkDeliveries(rt, SINK), mailAbout(rt, requestId)]);
    const seenAt = Date.now();
    const message = chat.find((d) => JSON.stringify(d.body).includes(requestId));
    if (message && chatAtMs === undefined) chatAtMs = Date.parse(message.at);
    for (const email of mail) for (const to of email.to) emailSeenWallMs[to] ??= seenAt;
    await sleep(POLL_MS);
  }
  return { requestId, sentWallMs, answeredWallMs, chatAtMs, emailSeenWallMs, emailsTo: [] };
}

/** min / median / max with the p95 in the median column. */
function p95Of(samples: number[], unit: string): Figure {
  const fig = figure(samples, unit);
  return {
    ...fig,
    median: quantile(
      [...samples].sort((a, b) => a - b),
      0.95,
    ),
  };
}

const rounded = (fig: Figure): Figure => ({
  ...fig,
  min: round(fig.min, 1),
  median: round(fig.median, 1),
  max: round(fig.max, 1),
});

export async function runNotifier(opts: NotifierOptions): Promise<SectionResult> {
  const { rt, log } = opts;
  const sqs = new SQSClient(clientConfig(rt));
  try {
    const queueUrl = await notifierQueue(sqs);
    // Earlier sections' messages first: a backlog would be measured as latency.
    await untilDrained(sqs, queueUrl, 120_000);
    const start = await clockOffset(rt);
    const eventsBefore = new Set(
      (await getJson<{ events: StoredEvent[] }>(`${rt.urls.api}/local/events`)).events.map((e) => e.id),
    );
    const callsBefore = (await callLog(rt)).length;

    const run = `${process.pid}-${Date.now()}`;
    const all: Sample[] = [];
    for (let i = 0; i <= opts.samples; i++) {
      const sample = await oneRequest(rt, `bench-notifier-${i}@example.com`, `bench-notify-${run}-${i}`);
      await untilDrained(sqs, queueUrl);
      sample.emailsTo = (await mailAbout(rt, sample.requestId)).flatMap((e) => e.to).sort();
      all.push(sample);
    }
    const end = await clockOffset(rt);

    // The publication of each event: the PutEvents calls since the start, one entry each, in the order the bus
    // stored the events (the call is logged once its answer is written: `at` is its start, plus its duration).
    const calls = (await callLog(rt))
      .slice(callsBefore)
      .filter((c) => c.service === 'events' && c.operation === 'PutEvents' && c.status === 200);
    const events = (await getJson<{ events: StoredEvent[] }>(`${rt.urls.api}/local/events`)).events.filter(
      (e) => !eventsBefore.has(e.id),
    );
    if (calls.length !== events.length)
      throw new Error(`${calls.length} PutEvents calls but ${events.length} new events: cannot pair them`);
    const published = events.map((event, i) => {
      const call = calls[i] as (typeof calls)[number];
      return { event, answeredSimMs: Date.parse(call.at) + call.durationMs };
    });
    const publishedOf = (requestId: string, event: string, approver?: string): number => {
      const hit = published.find(
        (p) =>
          p.event.detail.requestId === requestId &&
          p.event.detail.event === event &&
          (approver === undefined || p.event.detail.details?.approver === approver),
      );
      if (!hit) throw new Error(`no ${event} event${approver ? ` for ${approver}` : ''} of ${requestId}`);
      return hit.answeredSimMs;
    };

    const offsetMs = start.offsetMs;
    const chat = (s: Sample) => s.chatAtMs - publishedOf(s.requestId, 'REQUESTED');
    const chatFromAnswer = (s: Sample) => s.chatAtMs - (s.answeredWallMs + offsetMs);
    const emails = (s: Sample) =>
      [SEED.approver1, SEED.approver2].map(
        (a) => (s.emailSeenWallMs[a] as number) + offsetMs - publishedOf(s.requestId, 'APPROVAL_REQUESTED', a),
      );
    const [first, ...measured] = all as [Sample, ...Sample[]];
    const chatMs = measured.map(chat);
    const emailMs = measured.flatMap(emails);
    log(`  ${measured.length} requests: event → Slack ${chatMs.map((v) => Math.round(v)).join(', ')} ms`);

    // Baseline 1: the bench POSTs to a sink URL itself (fresh connection), and the sink stamps the arrival.
    const direct: number[] = [];
    const directRoundTrip: number[] = [];
    for (let i = 0; i < opts.samples; i++) {
      const marker = `bench-baseline-${run}-${i}`;
      const sent = Date.now();
      const answer = await httpJson('POST', `${rt.urls.api}/local/webhooks/${BASELINE_SINK}`, { text: marker });
      directRoundTrip.push(Date.now() - sent);
      if (answer.status !== 200) throw new Error(`the sink answered ${answer.status}`);
      const hit = (await sinkDeliveries(rt, BASELINE_SINK)).find((d) => JSON.stringify(d.body).includes(marker));
      if (!hit) throw new Error('the direct POST did not reach the sink');
      direct.push(Date.parse(hit.at) - (sent + offsetMs));
    }

    // Baseline 2: the SQS emulator alone, send → a waiting ReceiveMessage answers (a queue of the bench's own).
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: `bench-notifier-baseline-${process.pid}` }),
    );
    const sqsRoundTrip: number[] = [];
    try {
      for (let i = 0; i < opts.samples; i++) {
        const sent = performance.now();
        const receiving = sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5, MaxNumberOfMessages: 1 }));
        await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: `m${i}` }));
        const got = await receiving;
        sqsRoundTrip.push(performance.now() - sent);
        const message = got.Messages?.[0];
        if (!message?.ReceiptHandle) throw new Error('the baseline queue returned no message');
        await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message.ReceiptHandle }));
      }
    } finally {
      await sqs.send(new DeleteQueueCommand({ QueueUrl })).catch(() => undefined);
    }

    // The requests go back (cancelled by their members), so later sections see no pending approvals of this one.
    for (const [i, s] of all.entries()) {
      const token = await rt.memberToken(`bench-notifier-${i}@example.com`);
      const answer = await rt.api('POST', `/token-requests/${s.requestId}/cancel`, { token });
      if (answer.status !== 200) log(`  cancelling ${s.requestId} answered ${answer.status}`);
    }
    await untilDrained(sqs, queueUrl, 60_000);

    const rows: Row[] = [
      row('REQUESTED published → Slack message at the sink, median', rounded(figure(chatMs, 'ms'))),
      row('REQUESTED published → Slack message at the sink, p95', rounded(p95Of(chatMs, 'ms'))),
      row('APPROVAL_REQUESTED published → approver email in the mail store, median', rounded(figure(emailMs, 'ms'))),
      row('APPROVAL_REQUESTED published → approver email in the mail store, p95', rounded(p95Of(emailMs, 'ms'))),
      row(
        '  cross-check: POST /token-requests answered → Slack message at the sink',
        rounded(figure(measured.map(chatFromAnswer), 'ms')),
      ),
      row('baseline: direct POST to a sink URL → arrival at the sink', rounded(figure(direct, 'ms'))),
      row('baseline: direct POST to a sink URL, round trip', rounded(figure(directRoundTrip, 'ms'))),
      row('baseline: SQS emulator send → waiting receive answered', rounded(figure(sqsRoundTrip, 'ms'))),
      row('first request (cold sandboxes, unmeasured above): REQUESTED → Slack', rounded(figure([chat(first)], 'ms'))),
      row('first request: APPROVAL_REQUESTED → approver email', rounded(figure(emails(first), 'ms'))),
    ];
    const recipients = [...new Set(measured.map((s) => s.emailsTo.join(', ')))];
    const ours = new Set(all.map((s) => s.requestId));
    const others = events.filter((e) => !ours.has(e.detail.requestId ?? '')).map((e) => e.detail.event);
    const notes = [
      `${measured.length} requests, one at a time, each by a member of its own, after one unmeasured first request; each waits until the notifier's queue is empty before the next. The start is the answer of the PutEvents call that published the event (call log: its start plus its duration, simulated clock); the events are paired with the calls in the order the bus stored them (${events.length} events, ${calls.length} calls). The Slack message's arrival is the sink's own \`at\` (ms); an email's is when the bench's poll of the mail store (every ${POLL_MS} ms plus the GET) first saw it, since the store keeps whole seconds. Simulated minus wall clock: ${round(start.offsetMs, 1)} ms at the start, ${round(end.offsetMs, 1)} at the end (GET /local/clock round trips ${start.roundTripMs} and ${end.roundTripMs} ms; nothing advanced the clock).`,
      `Other events the notifier handled while the samples ran (the runtime's own schedules): ${others.length ? others.join(', ') : 'none'}. Emails about each request once its messages were handled: ${recipients.join(' | ')}. In the p95 rows the median column holds the p95; min/max are of all samples. The requests are cancelled afterwards.`,
      "Locally the event source mapping long-polls the queue with no batching window, one batch at a time; on AWS, Lambda's SQS poller, EventBridge delivery and SES or Slack add their own latency instead.",
    ];
    return {
      id: 'notifier',
      title: 'Notifier: event to sink',
      rows,
      notes,
      details: {
        samples: all.map((s, i) => ({
          requestId: s.requestId,
          firstUnmeasured: i === 0,
          postMs: s.answeredWallMs - s.sentWallMs,
          chatMs: round(chat(s), 1),
          emailMs: emails(s).map((v) => round(v, 1)),
          emailsTo: s.emailsTo,
        })),
        directMs: direct,
        directRoundTripMs: directRoundTrip,
        sqsRoundTripMs: sqsRoundTrip.map((v) => round(v, 2)),
        clock: { start, end },
        eventsByType: events.reduce<Record<string, number>>((n, e) => {
          n[e.detail.event] = (n[e.detail.event] ?? 0) + 1;
          return n;
        }, {}),
      },
    };
  } finally {
    sqs.destroy();
  }
}
