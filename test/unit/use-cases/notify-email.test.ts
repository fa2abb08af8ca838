/** The notifier's email delivery: once per event and recipient, whatever is delivered twice or fails half-way. */
import type { LifecycleEvent, LifecycleEventDetail } from '../../../functions/domain/lifecycle-event';
import type { Policy } from '../../../functions/domain/policy';
import { type NotifyDeps, notifyEvent } from '../../../functions/use-cases/notify';
import {
  EMAIL_LEASE_SECONDS,
  EMAIL_RETRY_SECONDS,
  type EmailDeps,
  type EmailPlanners,
  emailEvent,
  emailMarkerId,
  type NoticeReads,
} from '../../../functions/use-cases/notify-email';
import {
  AwsTransientError,
  ChatDeliveryRetryableError,
  DeliveryRetryableError,
  EmailRejectedError,
} from '../../../functions/use-cases/port-errors';
import type { DeliveryLeases, Email } from '../../../functions/use-cases/ports';

const EVENT: LifecycleEventDetail = {
  eventId: 'req_1:ROTATED#g2',
  event: 'ROTATED',
  correlationId: 'req_1',
  requestId: 'req_1',
  tokenId: 'tok_1',
  actor: 'token-warden',
  at: '2026-12-01T00:00:00Z',
  details: { generation: 2 },
};

const MESSAGE = { subject: 'Token rotated', text: 'rotated', html: '<p>rotated</p>' };

/** Small fakes of the ports, with a planner for ROTATED that names `recipients`. */
function fakes(recipients: string[], failures: Map<string, Error> = new Map()) {
  const markers = new Map<string, 'SENDING' | 'SENT'>();
  const sent: Email[] = [];
  const warnings: { message: string; attributes: Record<string, unknown> }[] = [];
  let rejected = 0;
  const planners: EmailPlanners = {
    ROTATED: async () => recipients.map((to) => ({ to, email: MESSAGE })),
  };
  const leases: DeliveryLeases = {
    leaseDelivery: async (id) => {
      const state = markers.get(id);
      if (state) return state === 'SENT' ? 'done' : 'in-flight';
      markers.set(id, 'SENDING');
      return 'claimed';
    },
    confirmDelivery: async (id) => void markers.set(id, 'SENT'),
    releaseNotification: async (id) => void markers.delete(id),
  };
  const deps: EmailDeps = {
    store: leases as unknown as EmailDeps['store'],
    mailer: {
      send: async (email) => {
        const failure = failures.get(email.to);
        if (failure) throw failure;
        sent.push(email);
        return 'm';
      },
    },
    planners,
    clock: { now: () => new Date('2026-12-01T00:00:05Z') },
    policy: { notifications: { adminEmails: [] } } as unknown as Policy,
    consoleUrl: 'https://console.example.com/console/',
    linkBaseUrl: 'https://api.example.com',
    linkKey: async () => Buffer.alloc(32),
    log: { warn: (message, attributes) => warnings.push({ message, attributes }) },
    metrics: { emailRejected: () => void rejected++ },
  };
  return { deps, markers, sent, warnings, failures, rejected: () => rejected };
}

describe('Function: emailEvent', () => {
  it('sends each planned email once, however often the event is delivered', async () => {
    const f = fakes(['owner@example.com', 'admin@example.com']);

    const first = await emailEvent(f.deps, EVENT);
    const again = await emailEvent(f.deps, EVENT);

    expect(first).toEqual({ sent: 2, duplicates: 0, rejected: 0 });
    expect(again).toEqual({ sent: 0, duplicates: 2, rejected: 0 });
    expect(f.sent.map((m) => m.to)).toEqual(['owner@example.com', 'admin@example.com']);
  });

  it('sends one email to a recipient named twice, whatever the case of the address', async () => {
    const f = fakes(['owner@example.com', 'Owner@Example.com']);
    expect(await emailEvent(f.deps, EVENT)).toEqual({ sent: 1, duplicates: 0, rejected: 0 });
  });

  it('sends nothing for an event without a planner', async () => {
    const f = fakes(['owner@example.com']);
    expect(await emailEvent(f.deps, { ...EVENT, event: 'REQUESTED' })).toEqual({ sent: 0, duplicates: 0, rejected: 0 });
    expect(f.markers.size).toBe(0);
  });

  it("gives a failed recipient's lease back and throws, so the redelivery sends to that recipient only", async () => {
    const f = fakes(
      ['owner@example.com', 'admin@example.com'],
      new Map([['admin@example.com', new AwsTransientError('SES throttled')]]),
    );

    // A throttled provider asks the queue to wait, with back-off from EMAIL_RETRY_SECONDS.
    await expect(emailEvent(f.deps, EVENT)).rejects.toMatchObject({
      name: 'DeliveryRetryableError',
      retryAfterSeconds: EMAIL_RETRY_SECONDS,
    });
    expect(f.markers.get(emailMarkerId(EVENT.eventId, 'admin@example.com'))).toBeUndefined();
    f.failures.clear();
    const retried = await emailEvent(f.deps, EVENT);

    expect(retried).toEqual({ sent: 1, duplicates: 1, rejected: 0 });
    expect(f.sent.map((m) => m.to)).toEqual(['owner@example.com', 'admin@example.com']);
  });

  it('keeps the lease of an email the provider refused for good, counts it and logs no address', async () => {
    const f = fakes(
      ['nobody@example.com'],
      new Map([
        ['nobody@example.com', new EmailRejectedError('SESv2.SendEmail refused the message (MessageRejected)')],
      ]),
    );

    const result = await emailEvent(f.deps, EVENT);
    const again = await emailEvent(f.deps, EVENT);

    expect(result).toEqual({ sent: 0, duplicates: 0, rejected: 1 });
    expect(again).toEqual({ sent: 0, duplicates: 1, rejected: 0 });
    expect(f.rejected()).toBe(1);
    expect(f.warnings).toHaveLength(1);
    expect(JSON.stringify(f.warnings)).not.toContain('nobody@example.com');
  });

  it('waits with back-off on any other failure (a paused account, an unverified sender), naming only its kind', async () => {
    const paused = Object.assign(new Error('Sending paused for account'), { name: 'SendingPausedException' });
    const f = fakes(['owner@example.com'], new Map([['owner@example.com', paused]]));
    await expect(emailEvent(f.deps, EVENT)).rejects.toMatchObject({
      name: 'DeliveryRetryableError',
      retryAfterSeconds: EMAIL_RETRY_SECONDS,
      message: 'the email could not be sent (SendingPausedException): sent again later',
    });
    expect(f.markers.size).toBe(0);
  });

  it('sends nothing and asks to be retried after the lease when another attempt holds it', async () => {
    const f = fakes(['owner@example.com']);
    f.markers.set(emailMarkerId(EVENT.eventId, 'owner@example.com'), 'SENDING');

    const held = emailEvent(f.deps, EVENT);

    await expect(held).rejects.toThrow(DeliveryRetryableError);
    await expect(held).rejects.toMatchObject({ retryAfterSeconds: EMAIL_LEASE_SECONDS });
    expect(f.sent).toEqual([]);
  });

  it('names its markers apart from chat ones and per recipient', () => {
    expect(emailMarkerId('e', 'a@example.com')).toMatch(/^NOTE#[0-9a-f]{32}$/);
    expect(emailMarkerId('e', 'a@example.com')).toBe(emailMarkerId('e', 'A@example.com'));
    expect(emailMarkerId('e', 'a@example.com')).not.toBe(emailMarkerId('e', 'b@example.com'));
  });
});

describe('Function: notifyEvent', () => {
  const envelope: LifecycleEvent = {
    id: 'envelope-1',
    'detail-type': 'Token Rotated',
    source: 'token-warden',
    time: EVENT.at,
    detail: EVENT,
  };

  function both(chatFailure?: Error) {
    const f = fakes(['owner@example.com']);
    const posted: object[] = [];
    const deps: NotifyDeps = {
      ...f.deps,
      store: {
        ...f.deps.store,
        getRequest: async () => undefined,
        getToken: async () => undefined,
      } as NoticeReads & NotifyDeps['store'],
      policy: {
        notifications: {
          adminEmails: [],
          chat: [{ kind: 'slack', webhookSecretName: 'token-warden/chat/a', events: ['ROTATED'] }],
        },
      } as unknown as Policy,
      chat: {
        send: async (_channel, body) => {
          if (chatFailure) throw chatFailure;
          posted.push(body);
        },
      },
      metrics: { chatMessageRejected: () => undefined, emailRejected: () => undefined },
    };
    return { ...f, deps, posted };
  }

  it('tells the event by email and in chat', async () => {
    const f = both();
    const result = await notifyEvent(f.deps, envelope);
    expect(result).toEqual({
      email: { sent: 1, duplicates: 0, rejected: 0 },
      chat: { sent: 1, duplicates: 0, rejected: 0 },
    });
    expect(f.sent).toHaveLength(1);
    expect(f.posted).toHaveLength(1);
  });

  it("sends the email when the chat webhook asks to wait, and throws the chat's back-off", async () => {
    const f = both(new ChatDeliveryRetryableError('429', 120, 429));

    await expect(notifyEvent(f.deps, envelope)).rejects.toMatchObject({ retryAfterSeconds: 120 });
    expect(f.sent.map((m) => m.to)).toEqual(['owner@example.com']);
  });
});
