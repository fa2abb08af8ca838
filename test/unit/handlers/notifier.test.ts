import type { LifecycleEvent } from '../../../functions/domain/lifecycle-event';
import {
  backoffSeconds,
  MAX_BACKOFF_SECONDS,
  type NotifyBatchDeps,
  notifyBatch,
} from '../../../functions/events/notify-batch';
import { AwsTransientError, ChatDeliveryRetryableError } from '../../../functions/use-cases/port-errors';

function envelope(eventId: string): string {
  return JSON.stringify({
    version: '0',
    id: `envelope-${eventId}`,
    'detail-type': 'Token Requested',
    source: 'token-warden',
    account: '000000000000',
    time: '2026-12-01T00:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail: {
      eventId,
      event: 'REQUESTED',
      correlationId: 'req_1',
      requestId: 'req_1',
      actor: 'alice@example.com',
      at: '2026-12-01T00:00:00Z',
      details: { serviceAccount: 'jenkins-bot' },
    },
  });
}

const message = (messageId: string, body: string) => ({ messageId, receiptHandle: `rh-${messageId}`, body });

/** The batch's ports as fakes; `outcomes` says what telling each event id does. */
function fakes(outcomes: Record<string, Error | undefined> = {}) {
  const told: LifecycleEvent[] = [];
  const delays: [string, number][] = [];
  const warnings: { message: string; attributes: Record<string, unknown> }[] = [];
  const errors: { message: string; attributes: Record<string, unknown> }[] = [];
  let dropped = 0;
  const deps: NotifyBatchDeps = {
    notify: async (event) => {
      told.push(event);
      const failure = outcomes[event.detail.eventId];
      if (failure) throw failure;
    },
    visibility: {
      delay: async (receiptHandle, seconds) => {
        delays.push([receiptHandle, seconds]);
      },
    },
    log: {
      warn: (m, attributes) => warnings.push({ message: m, attributes }),
      error: (m, attributes) => errors.push({ message: m, attributes }),
    },
    dropped: () => {
      dropped += 1;
    },
  };
  return { deps, told, delays, warnings, errors, dropped: () => dropped };
}

describe('Function: notifyBatch', () => {
  it('reports only the messages whose event failed, and deletes the rest', async () => {
    // Prepare
    const f = fakes({ e2: new AwsTransientError('DynamoDB.GetItem failed transiently (ThrottlingException)') });

    // Act
    const result = await notifyBatch(f.deps, [
      message('m1', envelope('e1')),
      message('m2', envelope('e2')),
      message('m3', envelope('e3')),
    ]);

    // Assess
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm2' }] });
    expect(f.told.map((e) => e.detail.eventId)).toEqual(['e1', 'e2', 'e3']);
    // No chat back-off: the message returns after the queue's visibility timeout.
    expect(f.delays).toEqual([]);
    expect(f.errors).toEqual([
      expect.objectContaining({
        attributes: expect.objectContaining({ messageId: 'm2', eventId: 'e2', errorName: 'AwsTransientError' }),
      }),
    ]);
  });

  it("hides a message for the webhook's Retry-After before reporting it", async () => {
    // Prepare
    const f = fakes({ e1: new ChatDeliveryRetryableError('slack webhook answered 429', 90, 429) });

    // Act
    const result = await notifyBatch(f.deps, [message('m1', envelope('e1')), message('m2', envelope('e2'))]);

    // Assess
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
    expect(f.delays).toEqual([['rh-m1', 90]]);
  });

  it('waits at least 30 s doubled per earlier receive, so the receives span hours of a failing webhook', async () => {
    // Prepare
    const f = fakes({ e1: new ChatDeliveryRetryableError('slack webhook answered 503', 30, 503) });
    const received = (count: number) => ({ ...message('m1', envelope('e1')), receiveCount: count });

    // Act
    for (const count of [1, 2, 5, 10]) await notifyBatch(f.deps, [received(count)]);

    // Assess
    expect(f.delays.map(([, seconds]) => seconds)).toEqual([30, 60, 480, 15_360]);
    expect(backoffSeconds(900, 2)).toBe(900);
    const total = Array.from({ length: 10 }, (_, i) => backoffSeconds(30, i + 1)).reduce((a, b) => a + b, 0);
    expect(total / 3600).toBeGreaterThan(8);
  });

  it('caps the back-off below twelve hours, the longest SQS visibility timeout from the receive', async () => {
    // Prepare
    const f = fakes({ e1: new ChatDeliveryRetryableError('slack webhook answered 503', 100_000, 503) });

    // Act
    await notifyBatch(f.deps, [message('m1', envelope('e1'))]);

    // Assess
    expect(MAX_BACKOFF_SECONDS).toBe(43_080);
    expect(f.delays).toEqual([['rh-m1', 43_080]]);
  });

  it('still reports the message when hiding it fails', async () => {
    // Prepare
    const f = fakes({ e1: new ChatDeliveryRetryableError('slack webhook answered 429', 30, 429) });
    f.deps.visibility = {
      delay: async () => {
        throw new AwsTransientError('SQS.ChangeMessageVisibility failed transiently (ServiceUnavailable)');
      },
    };

    // Act
    const result = await notifyBatch(f.deps, [message('m1', envelope('e1'))]);

    // Assess
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
    expect(f.warnings.map((w) => w.message)).toEqual(['could not delay the message']);
  });

  it.each([
    ['not JSON', '{"detail": '],
    ['not a lifecycle event', JSON.stringify({ id: 'x', source: 'someone-else', detail: {} })],
    ['an unknown event name', envelope('e9').replace('"REQUESTED"', '"NOT_AN_EVENT"')],
  ])('drops a message whose body is %s, logs and counts it, and reports no failure', async (_what, body) => {
    // Prepare
    const f = fakes();

    // Act
    const result = await notifyBatch(f.deps, [message('bad', body), message('m1', envelope('e1'))]);

    // Assess
    expect(result).toEqual({ batchItemFailures: [] });
    expect(f.told.map((e) => e.detail.eventId)).toEqual(['e1']);
    expect(f.dropped()).toBe(1);
    expect(f.warnings).toEqual([
      {
        message: 'dropped a message that holds no lifecycle event',
        attributes: { messageId: 'bad', problem: expect.any(String) },
      },
    ]);
    // Field names only: nothing of the body is logged.
    expect(JSON.stringify(f.warnings)).not.toContain('someone-else');
  });
});
