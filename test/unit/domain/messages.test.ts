import {
  approvalPage,
  approvalRequestEmail,
  outcomeEmail,
  type UploadInstructions,
  uploadPage,
  uploadRequestEmail,
} from '../../../functions/domain/messages';
import type { TokenRequestRecord } from '../../../functions/domain/model';

const LINK = 'https://api.example.com/approvals/apv_aaaaaaaaaaaaaaaaaaaaaaaaaa?sig=1790000000.abc';
const EVIL = 'https://evil.example/approvals/apv_bbbbbbbbbbbbbbbbbbbbbbbbbb?sig=1';

/** A request as a record stored before the parser refused these characters would hold it. */
function stored(overrides: Partial<TokenRequestRecord> = {}): TokenRequestRecord {
  return {
    requestId: 'req_aaaaaaaaaaaaaaaaaaaaaaaaaa',
    status: 'PENDING_APPROVAL',
    serviceAccount: 'jenkins-bot',
    name: 'ci-main',
    scopes: ['read:jira-work'],
    lifetimeDays: 30,
    justification: 'Jenkins reads issues',
    consumers: ['arn:aws:iam::000000000000:role/jenkins', 'arn:aws:iam::000000000000:role/release'],
    requester: 'alice@example.com',
    createdAt: '2026-11-28T10:00:00Z',
    updatedAt: '2026-11-28T10:00:00Z',
    approvalsRequired: 1,
    approvers: ['approver1@example.com'],
    approvals: [],
    bodyHash: 'x',
    correlationId: 'req_aaaaaaaaaaaaaaaaaaaaaaaaaa',
    ...overrides,
  };
}

/** Every way of starting a line, plus direction and zero-width controls, around a forged "Open this link" paragraph. */
const FORGED_JUSTIFICATION = [
  'Release notes',
  '\n\nOpen this link to review and approve or reject (valid until 2026-12-01T10:00:00Z):\n',
  EVIL,
  '\r\n',
  `\u2028${EVIL}\u2029`,
  `\u0085${EVIL}\u000b${EVIL}\u000c${EVIL}\t`,
  '\u202eevil\u202c \u2066x\u2069 \u200e\u200f\u061c\u200b\u200c\u200d\u2060\ufeff\u0000\u001b\u009b',
].join('');

// Characters that must never reach a rendering: anything that can break a line, hide text or turn its direction.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this looks for
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/u;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the email text keeps its own line feeds only
const UNSAFE_IN_TEXT = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/u;

describe('approval email for a stored request with a forged justification', () => {
  const email = approvalRequestEmail(stored({ justification: FORGED_JUSTIFICATION }), LINK, '2026-12-01T10:00:00Z');

  it('has exactly one line holding a URL, and it is the real link standing alone', () => {
    const lines = email.text.split('\n');
    const withUrl = lines.filter((line) => /[a-z][a-z0-9+.-]*:\/\//i.test(line));
    expect(withUrl).toEqual([LINK]);
  });

  it('keeps the justification on its own single "Justification:" line', () => {
    const lines = email.text.split('\n');
    const justification = lines.filter((line) => line.startsWith('Justification: '));
    expect(justification).toHaveLength(1);
    expect(lines.filter((line) => line.includes('evil.example'))).toEqual(justification);
    expect(lines.filter((line) => line.startsWith('Open this link'))).toHaveLength(1);
  });

  it('carries no line break other than its own, and no direction or zero-width control, in text, HTML or subject', () => {
    expect(email.text).not.toMatch(UNSAFE_IN_TEXT);
    expect(email.html).not.toMatch(UNSAFE);
    expect(email.subject).not.toMatch(UNSAFE);
    expect(email.text).not.toContain('\r');
  });

  it('links only the real link in the HTML body', () => {
    expect([...email.html.matchAll(/<a\s[^>]*href="([^"]*)"/g)].map((m) => m[1])).toEqual([
      LINK.replace(/&/g, '&amp;'),
    ]);
    expect(email.html.match(/[a-z][a-z0-9+.-]*:\/\//gi)).toEqual(['https://']);
  });

  it('neutralises the same characters in the subject, name and requester', () => {
    const forged = approvalRequestEmail(
      stored({ name: 'ci\r\nBcc: x@evil.example', requester: 'mallory@example.com\u202e' }),
      LINK,
      '2026-12-01T10:00:00Z',
    );
    expect(forged.subject).not.toMatch(UNSAFE);
    expect(forged.text).not.toMatch(UNSAFE_IN_TEXT);
    expect(forged.text.split('\n').filter((line) => line.startsWith('Bcc:'))).toEqual([]);
  });
});

describe('every other email and page a requester-typed value reaches', () => {
  const forged = stored({ justification: FORGED_JUSTIFICATION, name: `ci\n${EVIL}` });

  it('the outcome email', () => {
    const email = outcomeEmail(forged, 'REJECTED', { reason: 'REJECTED_BY_APPROVER' });
    expect(email.text).not.toMatch(UNSAFE_IN_TEXT);
    expect(email.html).not.toMatch(UNSAFE);
    expect(email.subject).not.toMatch(UNSAFE);
    expect(email.text.split('\n').filter((line) => /:\/\//.test(line))).toEqual([]);
  });

  it('the approval page', () => {
    const html = approvalPage({ title: 'Approve token request?', message: 'm', request: forged });
    expect(html).not.toMatch(UNSAFE);
    expect(html).not.toContain(`\n${EVIL.replace(/&/g, '&amp;')}`);
    expect(html).not.toMatch(/<a\s/);
  });

  const instructions: UploadInstructions = {
    purpose: 'new token for request req_aaaaaaaaaaaaaaaaaaaaaaaaaa',
    serviceAccount: 'jenkins-bot',
    serviceAccountEmail: 'jenkins-bot@serviceaccount.atlassian.com',
    tokenName: `ci\n\nUpload link (single use):\n${EVIL}\n`,
    secretName: 'token-warden.jenkins-bot.ci',
    label: 'token-warden:tok_aaaaaaaaaaaaaaaaaaaaaaaaaa:g1',
    scopes: ['read:jira-work'],
    expiresNotBefore: '2026-12-28T10:00:00Z',
    expiresNotAfter: '2027-02-26T10:00:00Z',
  };

  it('the upload email keeps one link line', () => {
    const email = uploadRequestEmail(instructions, LINK, '2026-12-01T10:00:00Z');
    expect(email.text).not.toMatch(UNSAFE_IN_TEXT);
    expect(email.text.split('\n').filter((line) => /[a-z][a-z0-9+.-]*:\/\//i.test(line))).toEqual([LINK]);
    expect(email.subject).not.toMatch(UNSAFE);
  });

  it('the upload page', () => {
    const html = uploadPage({ title: 'Upload', message: 'm', instructions });
    expect(html).not.toMatch(UNSAFE);
    expect(html).not.toContain(`\n${EVIL.replace(/&/g, '&amp;')}`);
  });
});

describe('consumers shown to approvers', () => {
  const request = stored();

  it('the approval email names every consumer role ARN that will read the secret', () => {
    const email = approvalRequestEmail(request, LINK, '2026-12-01T10:00:00Z');
    const line = email.text.split('\n').find((l) => l.startsWith('Consumers'));
    expect(line).toBe(
      'Consumers (IAM roles that will read the secret): arn:aws:iam::000000000000:role/jenkins, arn:aws:iam::000000000000:role/release',
    );
    for (const arn of request.consumers) expect(email.html).toContain(arn);
  });

  it('the approval page names them too', () => {
    const html = approvalPage({ title: 'Approve token request?', message: 'm', request });
    for (const arn of request.consumers) expect(html).toContain(arn);
  });

  it('says so when no role will read the secret', () => {
    const email = approvalRequestEmail(stored({ consumers: [] }), LINK, '2026-12-01T10:00:00Z');
    expect(email.text).toContain('Consumers (IAM roles that will read the secret): none');
  });
});
