/**
 * The notifier's planners for personal-token events (functions/use-cases/notices/personal-tokens.ts), through the one
 * table the notifier sends from: who each event emails, with which subject, and when the records it names no longer
 * call for an email.
 */
import type { LifecycleEventDetail } from '../../../functions/domain/lifecycle-event';
import type { StoredPersonalToken } from '../../../functions/domain/personal-tokens';
import type { Policy } from '../../../functions/domain/policy';
import type { AuditEvent } from '../../../functions/domain/records';
import { EMAIL_PLANNERS } from '../../../functions/use-cases/notices';
import type { NoticeContext, NoticeReads } from '../../../functions/use-cases/notify-email';

const ADMINS = ['admin@example.com', 'security@example.com'];
const CONSOLE = 'https://warden.example.com/console/';

function token(id: string, over: Partial<StoredPersonalToken> = {}): StoredPersonalToken {
  return {
    atlassianTokenId: id,
    owner: { accountId: `712020:${id}`, email: 'alice@example.com', name: 'Alice' },
    label: `label ${id}`,
    scopes: [],
    unscoped: true,
    atlassianStatus: 'BLOCKED',
    createdAt: '2026-11-01T00:00:00Z',
    flags: ['UNSCOPED'],
    state: 'OPEN',
    firstSeenAt: '2026-12-01T00:00:00Z',
    lastSeenAt: '2026-12-01T00:00:00Z',
    version: 1,
    ...over,
  };
}

/** A context whose store holds `records`, and counts the batched reads. */
function context(records: StoredPersonalToken[]) {
  const byId = new Map(records.map((r) => [r.atlassianTokenId, r]));
  const batches: string[][] = [];
  const store = {
    getPersonalToken: async (id: string) => byId.get(id),
    getPersonalTokens: async (ids: readonly string[]) => {
      batches.push([...ids]);
      return new Map(ids.flatMap((id) => (byId.has(id) ? [[id, byId.get(id) as StoredPersonalToken] as const] : [])));
    },
  } as unknown as NoticeReads;
  const ctx: NoticeContext = {
    store,
    policy: { notifications: { adminEmails: ADMINS } } as unknown as Policy,
    clock: { now: () => new Date('2026-12-02T00:00:00Z') },
    consoleUrl: CONSOLE,
    linkBaseUrl: 'https://api.example.com',
    linkKey: async () => Buffer.alloc(32),
  };
  return { ctx, batches };
}

function event(
  name: AuditEvent,
  details: LifecycleEventDetail['details'],
  requestId = 'scan_abc',
): LifecycleEventDetail {
  return {
    eventId: `x:${name}#1`,
    event: name,
    correlationId: 'x',
    requestId,
    actor: 'token-warden',
    at: '2026-12-02T00:00:00Z',
    details,
  };
}

async function plan(ctx: NoticeContext, e: LifecycleEventDetail) {
  const planner = EMAIL_PLANNERS[e.event];
  if (!planner) throw new Error(`no planner for ${e.event}`);
  return (await planner(ctx, e)).map((p) => ({ to: p.to, subject: p.email.subject, text: p.email.text }));
}

describe('Notices: personal tokens', () => {
  describe('PERSONAL_TOKEN_NOTICE_SENT', () => {
    it('sends the owner the notice, with the revocation date the event recorded', async () => {
      // Prepare
      const { ctx } = context([token('pt-1', { revokeAt: '2026-12-30T00:00:00Z' })]);
      // Act
      const planned = await plan(
        ctx,
        event('PERSONAL_TOKEN_NOTICE_SENT', {
          atlassianTokenId: 'pt-1',
          mode: 'revoke',
          revokeAt: '2026-12-16T00:00:00Z',
        }),
      );
      // Assess
      expect(planned.map((p) => [p.to, p.subject])).toEqual([
        ['alice@example.com', 'Action needed: your Atlassian API token "label pt-1" will be revoked on 2026-12-16'],
      ]);
      expect(planned[0]?.text).toContain(CONSOLE);
    });

    it('sends the notify-mode notice when the event has no revocation date', async () => {
      // Prepare
      const { ctx } = context([token('pt-1')]);
      // Act
      const planned = await plan(
        ctx,
        event('PERSONAL_TOKEN_NOTICE_SENT', { atlassianTokenId: 'pt-1', mode: 'notify' }),
      );
      // Assess
      expect(planned.map((p) => [p.to, p.subject])).toEqual([
        ['alice@example.com', 'Your Atlassian API token "label pt-1" was found by Token Warden'],
      ]);
    });

    it.each([
      ['no longer on record', []],
      ['gone', [token('pt-1', { state: 'GONE' })]],
      ['exempt since', [token('pt-1', { state: 'EXEMPT' })]],
    ])('sends nothing for a token %s', async (_what, records) => {
      // Prepare
      const { ctx } = context(records);
      // Act
      const planned = await plan(
        ctx,
        event('PERSONAL_TOKEN_NOTICE_SENT', { atlassianTokenId: 'pt-1', mode: 'notify' }),
      );
      // Assess
      expect(planned).toEqual([]);
    });
  });

  describe('PERSONAL_TOKEN_REVOKED', () => {
    it('tells the owner, with the reason on record', async () => {
      // Prepare
      const { ctx } = context([token('pt-1', { state: 'REVOKED', revokeReason: 'NOTICE_PERIOD_ENDED' })]);
      // Act
      const planned = await plan(ctx, event('PERSONAL_TOKEN_REVOKED', { atlassianTokenId: 'pt-1' }));
      // Assess
      expect(planned.map((p) => [p.to, p.subject])).toEqual([
        ['alice@example.com', 'Your Atlassian API token "label pt-1" was revoked'],
      ]);
      expect(planned[0]?.text).toContain('Its notice period ended');
    });

    it.each([
      ['no longer on record', []],
      ['whose record is not REVOKED', [token('pt-1')]],
      [
        "of an admin's revoke whose DELETE has not gone through",
        [token('pt-1', { state: 'REVOKED', deletePending: true })],
      ],
      ['revoked as its access exception ended', [token('pt-1', { state: 'REVOKED', revokeReason: 'EXCEPTION_ENDED' })]],
    ])('tells nobody about a token %s', async (_what, records) => {
      // Prepare
      const { ctx } = context(records);
      // Act
      const planned = await plan(ctx, event('PERSONAL_TOKEN_REVOKED', { atlassianTokenId: 'pt-1' }));
      // Assess
      expect(planned).toEqual([]);
    });
  });

  describe('PERSONAL_TOKEN_REVOCATIONS_CAPPED', () => {
    it('alerts every admin, naming the scan, the count due and the cap', async () => {
      // Prepare
      const { ctx } = context([]);
      // Act
      const planned = await plan(ctx, event('PERSONAL_TOKEN_REVOCATIONS_CAPPED', { due: 3, maxRevocationsPerScan: 2 }));
      // Assess
      expect(planned.map((p) => p.to)).toEqual(ADMINS);
      expect(new Set(planned.map((p) => p.subject))).toEqual(
        new Set(['Personal tokens: 3 revocations due, none made (over the cap of 2)']),
      );
      expect(planned[0]?.text).toContain('The scan scan_abc found 3');
    });

    it('sends nothing for an event without its counts', async () => {
      // Prepare
      const { ctx } = context([]);
      // Act
      const planned = await plan(ctx, event('PERSONAL_TOKEN_REVOCATIONS_CAPPED', { due: 'many' }));
      // Assess
      expect(planned).toEqual([]);
    });
  });

  describe('PERSONAL_TOKEN_SCAN_COMPLETED', () => {
    const counts = { listed: 9, new: 3, gone: 1, revoked: 0, capped: 0, mode: 'report' };

    it('digests the scan to every admin, a line per new token still on record, read in one batch', async () => {
      // Prepare
      const { ctx, batches } = context([token('pt-1'), token('pt-3', { flags: [] })]);
      // Act
      const planned = await plan(
        ctx,
        event('PERSONAL_TOKEN_SCAN_COMPLETED', { ...counts, atlassianTokenIds: ['pt-1', 'pt-2', 'pt-3'] }),
      );
      // Assess
      expect(planned.map((p) => [p.to, p.subject])).toEqual(
        ADMINS.map((to) => [to, 'Personal tokens: 3 new, 1 gone, 0 revoked']),
      );
      expect(batches).toEqual([['pt-1', 'pt-2', 'pt-3']]);
      const lines = (planned[0]?.text ?? '').split('\n').filter((l) => l.startsWith('- '));
      expect(lines).toEqual([
        '- alice@example.com "label pt-1" (pt-1) OPEN UNSCOPED',
        '- alice@example.com "label pt-3" (pt-3) OPEN',
        '- … and 1 more',
      ]);
      expect(planned[0]?.text).toContain('The scan scan_abc listed 9 personal tokens (mode report).');
    });

    it('reads nothing when nothing is new, and says what the cap held back', async () => {
      // Prepare
      const { ctx, batches } = context([]);
      // Act
      const planned = await plan(
        ctx,
        event('PERSONAL_TOKEN_SCAN_COMPLETED', { ...counts, new: 0, capped: 4, atlassianTokenIds: [] }),
      );
      // Assess
      expect(batches).toEqual([]);
      expect(planned).toHaveLength(ADMINS.length);
      expect(planned[0]?.text).toContain('Revocations due but not made (over the cap): 4.');
    });

    it('sends nothing for an event without its counts', async () => {
      // Prepare
      const { ctx } = context([]);
      // Act
      const planned = await plan(ctx, event('PERSONAL_TOKEN_SCAN_COMPLETED', { new: 3, mode: 'report' }));
      // Assess
      expect(planned).toEqual([]);
    });
  });

  it.each([
    'PERSONAL_TOKEN_FOUND',
    'PERSONAL_TOKEN_GONE',
    'PERSONAL_TOKEN_EXEMPTED',
    'PERSONAL_TOKEN_REOPENED',
    'PERSONAL_TOKEN_SCAN_INCOMPLETE',
  ] as const)('sends no email for %s', (name) => {
    // Assess
    expect(EMAIL_PLANNERS[name]).toBeUndefined();
  });
});
