import {
  capRevocations,
  flagsOf,
  isServiceAccountToken,
  type ListedToken,
  noticeDue,
  observe,
  type PersonalTokenRecord,
  personalTokenView,
  revocationDue,
  type ScanContext,
  withGone,
  withNotice,
  withRevocation,
} from '../../../functions/domain/personal-tokens';
import type { PersonalTokenPolicy } from '../../../functions/domain/policy';

const NOW = new Date('2031-06-01T12:00:00Z');
const DAY = 24 * 3600 * 1000;
const daysAgo = (n: number) => new Date(NOW.getTime() - n * DAY).toISOString();
const daysAhead = (n: number) => new Date(NOW.getTime() + n * DAY).toISOString();

const settings = (over: Partial<PersonalTokenPolicy> = {}): PersonalTokenPolicy => ({
  mode: 'revoke',
  revokeAfterDays: 14,
  staleAfterDays: 90,
  maxLifetimeDays: 90,
  exemptUsers: ['breakglass@example.com'],
  maxRevocationsPerScan: 50,
  ...over,
});

const ctx = (over: Partial<PersonalTokenPolicy> = {}, holders: string[] = []): ScanContext => ({
  now: NOW,
  policy: settings(over),
  hasException: (email) => holders.includes(email),
});

const listed = (over: Partial<ListedToken> = {}): ListedToken => ({
  id: 'tok-1',
  label: 'my laptop',
  status: 'BLOCKED',
  createdAt: daysAgo(10),
  expiresAt: daysAhead(20),
  lastActiveAt: daysAgo(1),
  user: { id: 'acc-alice', email: 'Alice@Example.com', name: 'Alice' },
  scopes: ['read:jira-work'],
  ...over,
});

describe('personal tokens: flags', () => {
  it('flags an unscoped token, and reads absent scopes as unscoped', () => {
    // Prepare / Act / Assess
    expect(flagsOf(listed({ scopes: [] }), ctx())).toContain('UNSCOPED');
    expect(flagsOf(listed({ scopes: undefined }), ctx())).toContain('UNSCOPED');
    expect(flagsOf(listed(), ctx())).not.toContain('UNSCOPED');
  });

  it('flags a token never used as NEVER_USED, and STALE once older than staleAfterDays', () => {
    const fresh = listed({ lastActiveAt: undefined, createdAt: daysAgo(30) });
    const old = listed({ lastActiveAt: undefined, createdAt: daysAgo(200) });
    expect(flagsOf(fresh, ctx())).toEqual(['NEVER_USED']);
    expect(flagsOf(old, ctx({ maxLifetimeDays: undefined }))).toEqual(['STALE', 'NEVER_USED']);
  });

  it('flags a token unused for longer than staleAfterDays as STALE, not one used within it', () => {
    expect(flagsOf(listed({ lastActiveAt: daysAgo(91) }), ctx())).toContain('STALE');
    expect(flagsOf(listed({ lastActiveAt: daysAgo(89) }), ctx())).not.toContain('STALE');
  });

  it('flags a lifetime over maxLifetimeDays, or no expiry, as OVER_LIFETIME; nothing without the setting', () => {
    const long = listed({ createdAt: daysAgo(10), expiresAt: daysAhead(81) });
    expect(flagsOf(long, ctx())).toContain('OVER_LIFETIME');
    expect(flagsOf(listed({ expiresAt: undefined }), ctx())).toContain('OVER_LIFETIME');
    expect(flagsOf(listed({ createdAt: daysAgo(10), expiresAt: daysAhead(80) }), ctx())).not.toContain('OVER_LIFETIME');
    expect(flagsOf(long, ctx({ maxLifetimeDays: undefined }))).not.toContain('OVER_LIFETIME');
  });

  it('flags UNAPPROVED_ACCESS when the policy lets the token work and the owner is neither exempt nor excepted', () => {
    const allowed = listed({ status: 'ALLOWED' });
    expect(flagsOf(allowed, ctx())).toContain('UNAPPROVED_ACCESS');
    expect(flagsOf(listed({ status: 'BLOCKED' }), ctx())).not.toContain('UNAPPROVED_ACCESS');
    expect(flagsOf(allowed, ctx({ exemptUsers: ['alice@example.com'] }))).not.toContain('UNAPPROVED_ACCESS');
    expect(flagsOf(allowed, ctx({}, ['alice@example.com']))).not.toContain('UNAPPROVED_ACCESS');
  });
});

describe('personal tokens: service accounts are never personal', () => {
  it('skips catalogued service accounts and any @serviceaccount.atlassian.com owner', () => {
    const catalogued = new Set(['acc-jenkins']);
    expect(isServiceAccountToken(listed({ user: { id: 'acc-jenkins' } }), catalogued)).toBe(true);
    expect(
      isServiceAccountToken(listed({ user: { id: 'x', email: 'bot@serviceaccount.atlassian.com' } }), catalogued),
    ).toBe(true);
    expect(isServiceAccountToken(listed(), catalogued)).toBe(false);
  });
});

describe('personal tokens: observe', () => {
  it('creates an OPEN record with the owner lower-cased, first and last seen now', () => {
    // Act
    const { record, changed, change } = observe(undefined, listed(), ctx());
    // Assess
    expect(changed).toBe(true);
    expect(change).toBe('FOUND');
    expect(record).toMatchObject({
      atlassianTokenId: 'tok-1',
      owner: { accountId: 'acc-alice', email: 'alice@example.com', name: 'Alice' },
      state: 'OPEN',
      unscoped: false,
      atlassianStatus: 'BLOCKED',
      firstSeenAt: '2031-06-01T12:00:00Z',
      lastSeenAt: '2031-06-01T12:00:00Z',
    });
  });

  it('costs no write when nothing changed, even on a later day', () => {
    const first = observe(undefined, listed(), ctx()).record;
    const later = { ...ctx(), now: new Date(NOW.getTime() + 3600_000) };
    const again = observe(first, listed(), later);
    expect(again.changed).toBe(false);
    expect(again.record).toBe(first);
  });

  it("writes when the owner's email or name changed at Atlassian (nested fields count)", () => {
    const first = observe(undefined, listed(), ctx()).record;
    const renamed = observe(
      first,
      listed({ user: { id: 'acc-alice', email: 'alice@example.com', name: 'Alice B' } }),
      ctx(),
    );
    expect(renamed.changed).toBe(true);
    expect(renamed.record.owner.name).toBe('Alice B');
    const moved = observe(
      first,
      listed({ user: { id: 'acc-alice', email: 'alice.b@example.com', name: 'Alice' } }),
      ctx(),
    );
    expect(moved.changed).toBe(true);
    expect(moved.record.owner.email).toBe('alice.b@example.com');
  });

  it('writes when Atlassian shows a new last use or a flag crosses its threshold', () => {
    const first = observe(undefined, listed(), ctx()).record;
    expect(observe(first, listed({ lastActiveAt: daysAgo(0) }), ctx()).changed).toBe(true);
    const much = { ...ctx(), now: new Date(NOW.getTime() + 95 * DAY) };
    const stale = observe(first, listed(), much);
    expect(stale.changed).toBe(true);
    expect(stale.record.flags).toContain('STALE');
  });

  it('makes an exempt owner EXEMPT and clears the notice; back to OPEN starts a new notice round', () => {
    const noticed = withNotice(observe(undefined, listed(), ctx()).record, settings(), NOW);
    const exempted = observe(noticed, listed(), ctx({ exemptUsers: ['alice@example.com'] }));
    expect(exempted.change).toBe('EXEMPTED');
    expect(exempted.record.state).toBe('EXEMPT');
    expect(exempted.record.noticeSentAt).toBeUndefined();
    expect(exempted.record.revokeAt).toBeUndefined();
    const reopened = observe(exempted.record, listed(), ctx());
    expect(reopened.change).toBe('REOPENED');
    expect(reopened.record.state).toBe('OPEN');
    expect(reopened.record.noticeRound).toBe(1);
    expect(noticeDue(reopened.record, 'revoke')).toBe(true);
  });

  it('keeps a revoked token REVOKED while it is still listed', () => {
    const revoked = withRevocation(observe(undefined, listed(), ctx()).record, {
      at: NOW,
      by: 'admin@example.com',
      reason: 'leaked',
    });
    const again = observe(revoked, listed({ lastActiveAt: daysAgo(0) }), ctx());
    expect(again.change).toBe('STILL_LISTED');
    expect(again.record).toMatchObject({ state: 'REVOKED', revokedBy: 'admin@example.com', revokeReason: 'leaked' });
  });

  it('reopens a GONE token that is listed again', () => {
    const gone = withGone(observe(undefined, listed(), ctx()).record) as PersonalTokenRecord;
    expect(gone.state).toBe('GONE');
    const back = observe(gone, listed(), ctx());
    expect(back.change).toBe('REAPPEARED');
    expect(back.record.state).toBe('OPEN');
  });

  it('never marks a revoked or gone record GONE again', () => {
    const record = observe(undefined, listed(), ctx()).record;
    expect(withGone(withRevocation(record, { at: NOW, by: 'x', reason: 'y' }))).toBeUndefined();
    expect(withGone(withGone(record) as PersonalTokenRecord)).toBeUndefined();
  });
});

describe('personal tokens: modes', () => {
  const open = () => observe(undefined, listed(), ctx()).record;

  it('report sends no notice; notify one; revoke one with a date', () => {
    expect(noticeDue(open(), 'report')).toBe(false);
    expect(noticeDue(open(), 'notify')).toBe(true);
    const notified = withNotice(open(), settings({ mode: 'notify' }), NOW);
    expect(notified.revokeAt).toBeUndefined();
    expect(noticeDue(notified, 'notify')).toBe(false);
    // Notified before the switch to revoke: told again, with the date.
    expect(noticeDue(notified, 'revoke')).toBe(true);
    const warned = withNotice(open(), settings(), NOW);
    expect(warned.revokeAt).toBe('2031-06-15T12:00:00Z');
    expect(noticeDue(warned, 'revoke')).toBe(false);
  });

  it('revokes only in revoke mode, only OPEN tokens, only at or after revokeAt', () => {
    const warned = withNotice(open(), settings(), NOW);
    const at = new Date(Date.parse(warned.revokeAt as string));
    expect(revocationDue(warned, settings(), new Date(at.getTime() - 1000))).toBe(false);
    expect(revocationDue(warned, settings(), at)).toBe(true);
    expect(revocationDue(warned, settings({ mode: 'notify' }), at)).toBe(false);
    expect(revocationDue({ ...warned, state: 'EXEMPT' }, settings(), at)).toBe(false);
    expect(revocationDue(open(), settings(), at)).toBe(false);
  });

  it('a revokeAfterDays of 0 makes the token due at its notice', () => {
    const warned = withNotice(open(), settings({ revokeAfterDays: 0 }), NOW);
    expect(revocationDue(warned, settings({ revokeAfterDays: 0 }), NOW)).toBe(true);
  });
});

describe('personal tokens: the safety cap', () => {
  it('revokes all when within the cap, none when over it', () => {
    expect(capRevocations(['a', 'b'], 2)).toEqual({ revoke: ['a', 'b'], capped: false });
    expect(capRevocations(['a', 'b', 'c'], 2)).toEqual({ revoke: [], capped: true });
  });
});

describe('personal tokens: representation', () => {
  it('drops bookkeeping and shows the latest complete scan as lastSeenAt of a listed token', () => {
    const record = { ...observe(undefined, listed(), ctx()).record, version: 3, noticeRound: 2 };
    const view = personalTokenView(record, '2031-06-02T00:00:00Z');
    expect(view).not.toHaveProperty('version');
    expect(view).not.toHaveProperty('noticeRound');
    expect(view.lastSeenAt).toBe('2031-06-02T00:00:00Z');
    const gone = { ...(withGone(record) as PersonalTokenRecord), version: 4 };
    expect(personalTokenView(gone, '2031-06-02T00:00:00Z').lastSeenAt).toBe('2031-06-01T12:00:00Z');
  });
});
