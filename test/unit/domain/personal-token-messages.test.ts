import {
  DIGEST_LINES,
  personalTokenNoticeEmail,
  personalTokenRevokedEmail,
  revocationsCappedEmail,
  scanDigestEmail,
} from '../../../functions/domain/personal-token-messages';
import type { PersonalTokenRecord } from '../../../functions/domain/personal-tokens';

const CONSOLE = 'https://warden.example.com/console/';

function record(over: Partial<PersonalTokenRecord> = {}): PersonalTokenRecord {
  return {
    atlassianTokenId: 'pt-1',
    owner: { accountId: '712020:alice', email: 'alice@example.com', name: 'Alice' },
    label: 'my laptop scripts',
    scopes: [],
    unscoped: true,
    atlassianStatus: 'BLOCKED',
    createdAt: '2026-11-01T00:00:00Z',
    flags: ['UNSCOPED', 'STALE'],
    state: 'OPEN',
    firstSeenAt: '2026-12-01T00:00:00Z',
    lastSeenAt: '2026-12-01T00:00:00Z',
    ...over,
  };
}

/** A label as a member could name a token at Atlassian: a second line and a link of their own. */
const FORGED_LABEL = 'ci\nClick https://evil.example/reset to keep it';

describe('Domain: personal-token messages', () => {
  describe('personalTokenNoticeEmail', () => {
    it('tells the owner what was found, why it matters and the way out (notify mode)', () => {
      // Act
      const email = personalTokenNoticeEmail(record(), undefined, CONSOLE);
      // Assess
      expect(email.subject).toBe('Your Atlassian API token "my laptop scripts" was found by Token Warden');
      expect(email.text).toContain('(id pt-1, created 2026-11-01T00:00:00Z)');
      expect(email.text).toContain('Findings: UNSCOPED, STALE.');
      expect(email.text).toContain(`request a governed service-account token: ${CONSOLE} (or POST /token-requests)`);
      expect(email.text).toContain(`time-boxed access exception: ${CONSOLE} (POST /access-exceptions)`);
      expect(email.text).not.toContain('revoked on');
    });

    it('names the revocation date in revoke mode, in the subject and the text', () => {
      // Act
      const email = personalTokenNoticeEmail(record({ flags: [] }), '2026-12-15T00:00:00Z', CONSOLE);
      // Assess
      expect(email.subject).toBe(
        'Action needed: your Atlassian API token "my laptop scripts" will be revoked on 2026-12-15',
      );
      expect(email.text).toContain('It will be revoked on or after 2026-12-15T00:00:00Z.');
      expect(email.text).toContain('Findings: none beyond being a personal token.');
    });

    it('keeps a forged label on one line with its link unlinked, in the subject, text and HTML', () => {
      // Act
      const email = personalTokenNoticeEmail(record({ label: FORGED_LABEL }), undefined, CONSOLE);
      // Assess
      for (const part of [email.subject, email.text, email.html]) {
        expect(part).not.toContain('https://evil.example');
        expect(part).toContain('https[:]//evil.example');
      }
      expect(email.subject).not.toMatch(/[\r\n]/);
      expect(email.text.split('\n').filter((l) => l.startsWith('Click'))).toEqual([]);
    });
  });

  describe('personalTokenRevokedEmail', () => {
    it('says the notice period ended for a scan revocation', () => {
      // Act
      const email = personalTokenRevokedEmail(record({ revokeReason: 'NOTICE_PERIOD_ENDED' }), CONSOLE);
      // Assess
      expect(email.subject).toBe('Your Atlassian API token "my laptop scripts" was revoked');
      expect(email.text).toContain('revoked your personal Atlassian API token "my laptop scripts" (id pt-1)');
      expect(email.text).toContain('Its notice period ended without the token being replaced');
      expect(email.text).toContain(CONSOLE);
    });

    it("gives an admin's reason, on one line, and unspecified when there is none", () => {
      // Act
      const given = personalTokenRevokedEmail(record({ revokeReason: 'leaked\nhttps://evil.example' }), CONSOLE);
      const none = personalTokenRevokedEmail(record(), CONSOLE);
      // Assess
      expect(given.text).toContain('Reason: leaked\\u000ahttps[:]//evil.example');
      expect(none.text).toContain('Reason: unspecified');
    });
  });

  describe('revocationsCappedEmail', () => {
    it('names the scan, the count due and the cap', () => {
      // Act
      const email = revocationsCappedEmail('scan_abc', 120, 50);
      // Assess
      expect(email.subject).toBe('Personal tokens: 120 revocations due, none made (over the cap of 50)');
      expect(email.text).toContain('The scan scan_abc found 120 personal tokens');
      expect(email.text).toContain('personalTokens.maxRevocationsPerScan (50). Token Warden revoked none of them.');
    });
  });

  describe('scanDigestEmail', () => {
    const digest = { scanId: 'scan_abc', mode: 'notify', listed: 7, new: 2, gone: 1, revoked: 0, capped: 0 };

    it('gives the counts and one line per new token', () => {
      // Act
      const email = scanDigestEmail(digest, [
        record(),
        record({
          atlassianTokenId: 'pt-2',
          owner: { accountId: 'b', email: 'bob@example.com', name: 'Bob' },
          flags: [],
        }),
      ]);
      // Assess
      expect(email.subject).toBe('Personal tokens: 2 new, 1 gone, 0 revoked');
      expect(email.text).toContain('The scan scan_abc listed 7 personal tokens (mode notify).');
      expect(email.text).toContain('New: 2. Gone: 1. Revoked: 0.');
      expect(email.text).toContain('- alice@example.com "my laptop scripts" (pt-1) OPEN UNSCOPED STALE');
      expect(email.text).toContain('- bob@example.com "my laptop scripts" (pt-2) OPEN\n');
      expect(email.text).not.toContain('over the cap');
      expect(email.text).not.toContain('more');
    });

    it('says how many more there are than it lists, and the revocations the cap held back', () => {
      // Prepare
      const many = Array.from({ length: DIGEST_LINES + 5 }, (_, i) => record({ atlassianTokenId: `pt-${i}` }));
      // Act
      const email = scanDigestEmail({ ...digest, new: 1200, capped: 80 }, many);
      // Assess
      expect(email.text.split('\n').filter((l) => l.startsWith('- alice@'))).toHaveLength(DIGEST_LINES);
      expect(email.text).toContain(`- … and ${1200 - DIGEST_LINES} more`);
      expect(email.text).toContain('Revocations due but not made (over the cap): 80.');
    });

    it('lists no new tokens when there are none', () => {
      // Act
      const email = scanDigestEmail({ ...digest, new: 0, gone: 3 }, []);
      // Assess
      expect(email.subject).toBe('Personal tokens: 0 new, 3 gone, 0 revoked');
      expect(email.text).not.toContain('New tokens:');
    });
  });
});
