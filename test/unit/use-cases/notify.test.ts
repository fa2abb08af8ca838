import { LIFECYCLE_DETAIL_TYPES } from '../../../functions/adapters/aws/lifecycle-events';
import type { LifecycleEvent } from '../../../functions/domain/lifecycle-event';
import type { ChatChannel, Policy } from '../../../functions/domain/policy';
import { AUDIT_EVENTS, type AuditEvent, type StoredRequest, type StoredToken } from '../../../functions/domain/records';
import { type ChatDeps, chatEvent, chatMarkerId, DELIVERY_LEASE_SECONDS } from '../../../functions/use-cases/notify';
import { ChatDeliveryRejectedError, ChatDeliveryRetryableError } from '../../../functions/use-cases/port-errors';
import type { ChatChannelRef } from '../../../functions/use-cases/ports';
import { tokenRecord } from '../fixtures/token-record';

const CONSOLE = 'https://console.example.com/';
const SLACK: ChatChannel = { kind: 'slack', webhookSecretName: 'chat/slack-all', events: ['REQUESTED', 'REVOKED'] };
const TEAMS: ChatChannel = {
  kind: 'teams',
  webhookSecretName: 'chat/teams-jenkins',
  events: ['REQUESTED', 'REVOKED', 'PERSONAL_TOKEN_REVOKED'],
  serviceAccounts: ['jenkins-bot'],
};
const DEPLOY_ONLY: ChatChannel = {
  kind: 'slack',
  webhookSecretName: 'chat/slack-deploy',
  events: ['REQUESTED', 'REVOKED', 'PERSONAL_TOKEN_REVOKED'],
  serviceAccounts: ['deploy-bot'],
};
/** What an Atlassian API token looks like: it must never reach a channel. */
const TOKEN_LIKE = 'ATATT3xFfGF0abcdefghijklmnopqrstuvwxyz0123456789';

function request(over: Partial<StoredRequest> = {}): StoredRequest {
  return {
    requestId: 'req_1',
    status: 'PENDING_APPROVAL',
    serviceAccount: 'jenkins-bot',
    name: 'ci',
    scopes: ['read:jira-work'],
    lifetimeDays: 30,
    justification: 'CI needs to read issues',
    consumers: [],
    requester: 'alice@example.com',
    createdAt: '2026-12-01T00:00:00Z',
    updatedAt: '2026-12-01T00:00:00Z',
    approvalsRequired: 1,
    approvers: ['bob@example.com'],
    approvals: [],
    bodyHash: 'h',
    correlationId: 'req_1',
    version: 1,
    ...over,
  };
}

function event(name: AuditEvent, over: Partial<LifecycleEvent['detail']> = {}, detailType = 'Token Event') {
  return {
    id: 'envelope-1',
    'detail-type': detailType,
    source: 'token-warden',
    time: '2026-12-01T00:00:00Z',
    detail: {
      eventId: `req_1:${name}#x`,
      event: name,
      correlationId: 'req_1',
      requestId: 'req_1',
      actor: 'alice@example.com',
      at: '2026-12-01T00:00:00Z',
      ...over,
    },
  } as LifecycleEvent;
}

/** Small fakes of the ports the use case uses. */
function fakes(channels: ChatChannel[], opts: { requests?: StoredRequest[]; tokens?: StoredToken[] } = {}) {
  const markers = new Map<string, 'SENDING' | 'SENT'>();
  const sent: { channel: ChatChannelRef; body: object }[] = [];
  const rejectedKinds: string[] = [];
  const warnings: { message: string; attributes: Record<string, unknown> }[] = [];
  const failWith = new Map<string, Error>();
  const deps: ChatDeps = {
    store: {
      getRequest: async (id) => opts.requests?.find((r) => r.requestId === id),
      getToken: async (id) => opts.tokens?.find((t) => t.tokenId === id),
      leaseDelivery: async (id) => {
        const state = markers.get(id);
        if (state) return state === 'SENT' ? 'done' : 'in-flight';
        markers.set(id, 'SENDING');
        return 'claimed';
      },
      confirmDelivery: async (id) => {
        markers.set(id, 'SENT');
      },
      releaseNotification: async (id) => {
        markers.delete(id);
      },
    },
    chat: {
      send: async (channel, body) => {
        const failure = failWith.get(channel.webhookSecretName);
        if (failure) throw failure;
        sent.push({ channel, body });
      },
    },
    clock: { now: () => new Date('2026-12-01T00:00:05Z') },
    policy: { notifications: { adminEmails: ['admin@example.com'], chat: channels } } as Pick<Policy, 'notifications'>,
    consoleUrl: CONSOLE,
    metrics: { chatMessageRejected: (kind) => rejectedKinds.push(kind), emailRejected: () => undefined },
    log: { warn: (message, attributes) => warnings.push({ message, attributes }) },
  };
  return { deps, markers, sent, rejectedKinds, warnings, failWith };
}

describe('Function: chatEvent', () => {
  describe('channel selection', () => {
    it('posts to the channels whose events include the event and whose serviceAccounts match the request', async () => {
      // Prepare
      const f = fakes([SLACK, TEAMS, DEPLOY_ONLY], { requests: [request()] });

      // Act
      const result = await chatEvent(f.deps, event('REQUESTED'));

      // Assess
      expect(f.sent.map((s) => s.channel)).toEqual([
        { kind: 'slack', webhookSecretName: 'chat/slack-all' },
        { kind: 'teams', webhookSecretName: 'chat/teams-jenkins' },
      ]);
      expect(result).toEqual({ sent: 2, duplicates: 0, rejected: 0 });
    });

    it("posts a rejection or a cancel once, from the workflow's closing record, not from the person's own", async () => {
      // Prepare
      const endings: ChatChannel = {
        kind: 'slack',
        webhookSecretName: 'chat/endings',
        events: ['REJECTED', 'CANCELLED', 'EXCEPTION_REJECTED', 'EXCEPTION_CANCELLED'],
      };
      const f = fakes([endings], { requests: [request({ status: 'REJECTED', reason: 'REJECTED_BY_APPROVER' })] });

      // Act
      const own = await chatEvent(
        f.deps,
        event('REJECTED', { actor: 'bob@example.com', details: { outcome: 'REJECTED' } }),
      );
      const cancel = await chatEvent(f.deps, event('EXCEPTION_CANCELLED', { actor: 'alice@example.com' }));
      const closing = await chatEvent(
        f.deps,
        event('REJECTED', {
          eventId: 'req_1:REJECTED#closed',
          actor: 'token-warden',
          details: { reason: 'REJECTED_BY_APPROVER' },
        }),
      );

      // Assess
      expect([own.sent, cancel.sent, closing.sent]).toEqual([0, 0, 1]);
      expect(f.sent).toHaveLength(1);
    });

    it('posts nothing for an event no channel hears', async () => {
      // Prepare
      const f = fakes([SLACK, TEAMS], { requests: [request()] });

      // Act
      const result = await chatEvent(f.deps, event('ROTATED', { tokenId: 'tok_x' }));

      // Assess
      expect(f.sent).toEqual([]);
      expect(result).toEqual({ sent: 0, duplicates: 0, rejected: 0 });
    });

    it("reads a token event's service account from the token record", async () => {
      // Prepare
      const f = fakes([SLACK, TEAMS, DEPLOY_ONLY], {
        tokens: [{ ...tokenRecord({ serviceAccount: 'deploy-bot' }), version: 1 }],
      });

      // Act
      await chatEvent(f.deps, event('REVOKED', { tokenId: 'tok_x' }));

      // Assess
      expect(f.sent.map((s) => s.channel.webhookSecretName)).toEqual(['chat/slack-all', 'chat/slack-deploy']);
    });

    it('skips personal-token events in channels with a serviceAccounts filter, and posts them elsewhere', async () => {
      // Prepare
      const everyone: ChatChannel = { ...SLACK, events: ['PERSONAL_TOKEN_REVOKED'] };
      const f = fakes([everyone, TEAMS, DEPLOY_ONLY]);
      const revoked = event(
        'PERSONAL_TOKEN_REVOKED',
        {
          correlationId: 'personal-token:pt-1',
          requestId: 'scan_1',
          actor: 'token-warden',
          details: { atlassianTokenId: 'pt-1', owner: 'carol@example.com', reason: 'NOTICE_PERIOD_ENDED' },
        },
        'Personal Token Revoked',
      );

      // Act
      await chatEvent(f.deps, revoked);

      // Assess
      expect(f.sent.map((s) => s.channel.webhookSecretName)).toEqual(['chat/slack-all']);
      expect(JSON.stringify(f.sent[0]?.body)).toContain('Personal Token Revoked');
    });

    it("reads an approval request's service account from its request, and treats an exception's as no account's", async () => {
      // Prepare
      const hears: ChatChannel[] = [SLACK, TEAMS, DEPLOY_ONLY].map((c) => ({ ...c, events: ['APPROVAL_REQUESTED'] }));
      const f = fakes(hears, { requests: [request()] });
      const asked = (subject: string, requestId: string) =>
        event(
          'APPROVAL_REQUESTED',
          {
            eventId: `${requestId}:APPROVAL_REQUESTED#bob`,
            requestId,
            correlationId: requestId,
            details: { approvalId: 'apr_1', approver: 'bob@example.com', subject, expiresAt: '2026-12-04T00:00:00Z' },
          },
          'Approval Requested',
        );

      // Act
      await chatEvent(f.deps, asked('request', 'req_1'));
      await chatEvent(f.deps, asked('exception', 'exc_1'));

      // Assess
      expect(f.sent.map((s) => s.channel.webhookSecretName)).toEqual([
        'chat/slack-all',
        'chat/teams-jenkins',
        'chat/slack-all',
      ]);
      expect(JSON.stringify(f.sent[0]?.body)).toContain('bob@example.com');
      expect(JSON.stringify(f.sent[0]?.body)).not.toContain('apr_1');
    });
  });

  describe('once per event and channel', () => {
    it('sends nothing twice when the same event is delivered again, even in a new envelope', async () => {
      // Prepare
      const f = fakes([SLACK, TEAMS], { requests: [request()] });
      const first = event('REQUESTED');
      const again = { ...first, id: 'envelope-2' };

      // Act
      await chatEvent(f.deps, first);
      const second = await chatEvent(f.deps, again);

      // Assess
      expect(f.sent).toHaveLength(2);
      expect(second).toEqual({ sent: 0, duplicates: 2, rejected: 0 });
    });

    it('gives the marker back and throws on a retryable failure, so the redelivery posts to that channel only', async () => {
      // Prepare
      const f = fakes([SLACK, TEAMS], { requests: [request()] });
      f.failWith.set('chat/teams-jenkins', new ChatDeliveryRetryableError('teams webhook answered 429', 120, 429));
      const requested = event('REQUESTED');

      // Act
      const failed = chatEvent(f.deps, requested);

      // Assess
      await expect(failed).rejects.toMatchObject({ name: 'ChatDeliveryRetryableError', retryAfterSeconds: 120 });
      expect(f.markers.has(chatMarkerId(requested.detail.eventId, TEAMS))).toBe(false);
      expect(f.markers.has(chatMarkerId(requested.detail.eventId, SLACK))).toBe(true);
      f.failWith.clear();
      const retried = await chatEvent(f.deps, requested);
      expect(retried).toEqual({ sent: 1, duplicates: 1, rejected: 0 });
      expect(f.sent.map((s) => s.channel.kind)).toEqual(['slack', 'teams']);
    });

    it('throws the longest back-off when several channels ask to wait', async () => {
      // Prepare
      const f = fakes([SLACK, TEAMS], { requests: [request()] });
      f.failWith.set('chat/slack-all', new ChatDeliveryRetryableError('slack webhook answered 503', 30, 503));
      f.failWith.set('chat/teams-jenkins', new ChatDeliveryRetryableError('teams webhook answered 429', 600, 429));

      // Act
      const failed = chatEvent(f.deps, event('REQUESTED'));

      // Assess
      await expect(failed).rejects.toMatchObject({ retryAfterSeconds: 600 });
      expect(f.markers.size).toBe(0);
    });

    it('keeps the marker, logs without the URL, counts, and does not throw when a webhook refuses for good', async () => {
      // Prepare
      const f = fakes([SLACK], { requests: [request()] });
      f.failWith.set(
        'chat/slack-all',
        new ChatDeliveryRejectedError(
          'slack webhook (secret chat/slack-all) refused the message: 404 no_service',
          404,
          'no_service',
        ),
      );
      const requested = event('REQUESTED');

      // Act
      const result = await chatEvent(f.deps, requested);
      const again = await chatEvent(f.deps, requested);

      // Assess
      expect(result).toEqual({ sent: 0, duplicates: 0, rejected: 1 });
      expect(again).toEqual({ sent: 0, duplicates: 1, rejected: 0 });
      expect(f.markers.has(chatMarkerId(requested.detail.eventId, SLACK))).toBe(true);
      expect(f.rejectedKinds).toEqual(['slack']);
      expect(f.warnings).toEqual([
        {
          message: 'chat message refused for good',
          attributes: {
            kind: 'slack',
            webhookSecretName: 'chat/slack-all',
            status: 404,
            excerpt: 'no_service',
            eventId: requested.detail.eventId,
            event: 'REQUESTED',
          },
        },
      ]);
      expect(JSON.stringify(f.warnings)).not.toMatch(/https?:/);
    });
  });

  describe('a delivery another attempt holds', () => {
    it('posts nothing and asks to be retried after the lease, and confirms each delivery it makes', async () => {
      // Prepare: an attempt leased the Slack delivery and has not confirmed it (it is posting, or it died)
      const f = fakes([SLACK], { requests: [request()] });
      const requested = event('REQUESTED');
      const marker = chatMarkerId(requested.detail.eventId, SLACK);
      f.markers.set(marker, 'SENDING');

      // Act
      const held = chatEvent(f.deps, requested);

      // Assess
      await expect(held).rejects.toMatchObject({
        name: 'ChatDeliveryRetryableError',
        retryAfterSeconds: DELIVERY_LEASE_SECONDS,
      });
      expect(f.sent).toHaveLength(0);
      expect(f.markers.get(marker)).toBe('SENDING');

      // Act: the lease is given back (that attempt failed), and the event comes again
      f.markers.delete(marker);
      const result = await chatEvent(f.deps, requested);

      // Assess
      expect(result).toEqual({ sent: 1, duplicates: 0, rejected: 0 });
      expect(f.markers.get(marker)).toBe('SENT');
    });
  });

  describe('a confirm that fails after the post', () => {
    it('keeps the lease, so the redelivered event does not post again while it holds', async () => {
      // Prepare
      const f = fakes([SLACK], { requests: [request()] });
      const requested = event('REQUESTED');
      f.deps.store.confirmDelivery = async () => {
        throw new Error('DynamoDB.UpdateItem failed transiently');
      };

      // Act
      const first = chatEvent(f.deps, requested);

      // Assess
      await expect(first).rejects.toThrow('DynamoDB.UpdateItem failed transiently');
      expect(f.sent).toHaveLength(1);
      expect(f.markers.get(chatMarkerId(requested.detail.eventId, SLACK))).toBe('SENDING');
      await expect(chatEvent(f.deps, requested)).rejects.toMatchObject({ name: 'ChatDeliveryRetryableError' });
      expect(f.sent).toHaveLength(1);
    });
  });

  describe('message', () => {
    it('links a request to the console, never to an approval link', async () => {
      // Prepare
      const f = fakes([SLACK, TEAMS], { requests: [request()] });

      // Act
      await chatEvent(f.deps, event('REQUESTED'));

      // Assess
      const [slack, teams] = f.sent.map((s) => JSON.stringify(s.body));
      expect(slack).toContain('Approval needed: jenkins-bot token');
      expect(slack).toContain('https://console.example.com/approvals');
      expect(teams).toContain('"url":"https://console.example.com/approvals"');
      for (const body of [slack, teams]) {
        expect(body).not.toMatch(/\/approvals\/[a-z0-9]/i);
        expect(body).not.toContain('sig=');
        // Every link but the Adaptive Card's schema is the console's.
        const urls = (body?.match(/https?:\/\/[^\s"|<>]+/g) ?? []).filter(
          (u) => !u.startsWith('http://adaptivecards.io/'),
        );
        expect(urls.length).toBeGreaterThan(0);
        expect(urls.filter((u) => !u.startsWith(CONSOLE))).toEqual([]);
      }
    });

    it("links a token event to the token's page and says what happened to it", async () => {
      // Prepare
      const f = fakes([SLACK], { tokens: [{ ...tokenRecord(), version: 1 }] });

      // Act
      await chatEvent(f.deps, event('REVOKED', { tokenId: 'tok_x', details: { reason: 'leaked', generation: 2 } }));

      // Assess
      const body = JSON.stringify(f.sent[0]?.body);
      expect(body).toContain('Token revoked: jenkins-bot token');
      expect(body).toContain('https://console.example.com/tokens/tok_x');
      expect(body).toContain('leaked');
    });

    it('never puts a token-like value in a chat body, whatever the event carries', async () => {
      // Prepare
      const everything: ChatChannel = {
        kind: 'slack',
        webhookSecretName: 'chat/all',
        events: ['REVOKED', 'DRIFT_DETECTED'],
      };
      const f = fakes([everything, { ...everything, kind: 'teams', webhookSecretName: 'chat/teams-all' }]);
      const drift = event(
        'DRIFT_DETECTED',
        {
          correlationId: 'inventory',
          requestId: 'inventory',
          actor: 'token-warden',
          details: { token: TOKEN_LIKE, value: TOKEN_LIKE, secret: TOKEN_LIKE, extra: TOKEN_LIKE, due: 3 },
        },
        'Token Inventory Drift Detected',
      );
      const revoked = event('REVOKED', { tokenId: 'tok_missing', details: { token: TOKEN_LIKE, reason: 'leaked' } });

      // Act
      await chatEvent(f.deps, drift);
      await chatEvent(f.deps, revoked);

      // Assess
      expect(f.sent).toHaveLength(4);
      for (const { body } of f.sent) expect(JSON.stringify(body)).not.toContain('ATATT');
      expect(JSON.stringify(f.sent[0]?.body)).toContain('Token Inventory Drift Detected');
      expect(JSON.stringify(f.sent[0]?.body)).toContain('Revocations due');
    });

    it.each(AUDIT_EVENTS)(
      'renders %s for Slack (Block Kit) and Teams (Adaptive Card 1.4), with no token value',
      async (name) => {
        // Prepare: a channel of each kind hearing the event, whose request and token are on record.
        const hearing: ChatChannel[] = [
          { kind: 'slack', webhookSecretName: 'chat/slack-every', events: [name] },
          { kind: 'teams', webhookSecretName: 'chat/teams-every', events: [name] },
        ];
        const f = fakes(hearing, {
          requests: [request({ tokenId: 'tok_x' })],
          tokens: [{ ...tokenRecord({ tokenId: 'tok_x' }), version: 1 }],
        });
        const told = event(
          name,
          { tokenId: 'tok_x', actor: 'token-warden', details: { reason: 'r', generation: 2, value: TOKEN_LIKE } },
          LIFECYCLE_DETAIL_TYPES[name],
        );

        // Act
        await chatEvent(f.deps, told);

        // Assess
        const [slack, teams] = [
          f.sent.find((m) => m.channel.kind === 'slack'),
          f.sent.find((m) => m.channel.kind === 'teams'),
        ];
        const slackBody = slack?.body as { text?: string; blocks?: { type: string }[] };
        expect(typeof slackBody.text).toBe('string');
        expect(slackBody.blocks?.[0]?.type).toBe('header');
        expect(slackBody.blocks!.length).toBeLessThanOrEqual(50);
        expect(teams?.body).toMatchObject({
          type: 'message',
          attachments: [
            {
              contentType: 'application/vnd.microsoft.card.adaptive',
              content: { type: 'AdaptiveCard', version: '1.4' },
            },
          ],
        });
        for (const m of f.sent) expect(JSON.stringify(m.body)).not.toContain('ATATT');
        for (const m of f.sent) expect(JSON.stringify(m.body)).not.toMatch(/sig=/);
      },
    );
  });
});
