/**
 * The pages behind emailed links (approval and upload) under their Content-Security-Policy: no inline style
 * anywhere, the shared same-origin stylesheet linked once, and a policy that allows exactly that and the same-origin
 * form posts, with no 'unsafe-inline'.
 */
import type { AccessExceptionRepresentation } from '../../../functions/domain/access-exceptions';
import { approvalPage, type UploadInstructions, uploadPage } from '../../../functions/domain/messages';
import type { TokenRequestRecord } from '../../../functions/domain/model';
import { PAGE_STYLESHEET_PATH } from '../../../functions/domain/page-style';
import { htmlPage, PAGE_HEADERS } from '../../../functions/edge/http';

const REQUEST: TokenRequestRecord = {
  requestId: 'req_aaaaaaaaaaaaaaaaaaaaaaaaaa',
  status: 'PENDING_APPROVAL',
  serviceAccount: 'jenkins-bot',
  name: 'ci-main',
  scopes: ['read:jira-work'],
  lifetimeDays: 30,
  justification: 'Jenkins reads issues',
  consumers: ['arn:aws:iam::000000000000:role/jenkins'],
  requester: 'alice@example.com',
  createdAt: '2026-11-28T10:00:00Z',
  updatedAt: '2026-11-28T10:00:00Z',
  approvalsRequired: 1,
  approvers: ['approver1@example.com'],
  approvals: [{ approver: 'approver2@example.com', decision: 'APPROVED', decidedAt: '2026-11-28T11:00:00Z' }],
  bodyHash: 'x',
  correlationId: 'req_aaaaaaaaaaaaaaaaaaaaaaaaaa',
};
const EXCEPTION: AccessExceptionRepresentation = {
  exceptionId: 'exc_aaaaaaaaaaaaaaaaaaaaaaaaaa',
  status: 'PENDING_APPROVAL',
  member: 'alice@example.com',
  days: 7,
  justification: 'The nightly job still runs on my token',
  createdAt: '2026-11-28T10:00:00Z',
  approvalsRequired: 1,
  approvals: [],
};
const INSTRUCTIONS: UploadInstructions = {
  purpose: 'new token for request req_aaaaaaaaaaaaaaaaaaaaaaaaaa',
  serviceAccount: 'jenkins-bot',
  serviceAccountEmail: 'jenkins-bot@serviceaccount.atlassian.com',
  tokenName: 'ci-main',
  secretName: 'token-warden.jenkins-bot.ci-main',
  label: 'token-warden:tok_aaaaaaaaaaaaaaaaaaaaaaaaaa:g1',
  scopes: ['read:jira-work'],
  expiresNotBefore: '2026-12-28T10:00:00Z',
  expiresNotAfter: '2027-02-26T10:00:00Z',
};
const FORM = { sig: '1790000000.abc', csrf: 'c'.repeat(43) };

/** Every shape the two pages take: with a form, with the sign-in link, with a subject only, and bare (errors). */
const PAGES: [string, string][] = [
  [
    'approval page with the decision form',
    approvalPage({
      title: 'Approve token request?',
      message: 'm',
      request: REQUEST,
      form: { action: '/approvals/apv_aaaaaaaaaaaaaaaaaaaaaaaaaa', ...FORM },
    }),
  ],
  [
    'approval page of an access exception',
    approvalPage({
      title: 'Approve access exception?',
      message: 'm',
      exception: EXCEPTION,
      form: { action: '/approvals/apv_bbbbbbbbbbbbbbbbbbbbbbbbbb', ...FORM },
    }),
  ],
  [
    'approval page sending the approver to sign in',
    approvalPage({
      title: 'Sign in to decide',
      message: 'm',
      link: { href: 'https://idp.example.com/authorize?client_id=token-warden&state=s', text: 'Continue to sign in' },
    }),
  ],
  ['approval error page', approvalPage({ title: 'Link not valid', message: 'This approval link is not valid.' })],
  [
    'upload page with the token form',
    uploadPage({
      title: 'Upload token',
      message: 'm',
      instructions: INSTRUCTIONS,
      form: { action: '/uploads/upl_aaaaaaaaaaaaaaaaaaaaaaaaaa', ...FORM },
    }),
  ],
  ['upload error page', uploadPage({ title: 'Request not accepted', message: 'm' })],
];

/** The directives of a Content-Security-Policy, by name. */
function directives(policy: string): Map<string, string[]> {
  return new Map(
    policy
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name, ...sources]) => [name as string, sources]),
  );
}

describe('Pages behind emailed links', () => {
  describe.each(PAGES)('%s', (_name, html) => {
    it('carries no inline style: no <style> element, no style attribute', () => {
      // Assess
      expect(html).not.toMatch(/<style[\s>]/i);
      expect(html).not.toMatch(/\sstyle\s*=/i);
    });

    it('links the shared stylesheet once, from the same origin, in the head, and loads nothing else', () => {
      // Act
      const links = [...html.matchAll(/<link\b[^>]*>/gi)].map((m) => m[0]);
      const head = html.slice(0, html.indexOf('</head>'));
      // Assess
      expect(links).toEqual([`<link rel="stylesheet" href="${PAGE_STYLESHEET_PATH}">`]);
      expect(head).toContain(links[0]);
      expect(PAGE_STYLESHEET_PATH).toMatch(/^\/(?!\/)[a-z0-9/._-]+\.css$/);
      expect(html).not.toMatch(/<script\b|\ssrc\s*=|<iframe\b|<object\b|<embed\b|<base\b/i);
    });

    it('posts any form to a path of its own origin (what form-action self allows)', () => {
      // Act
      const actions = [...html.matchAll(/<form\b[^>]*\saction="([^"]*)"/gi)].map((m) => m[1]);
      // Assess
      for (const action of actions) expect(action).toMatch(/^\/(?!\/)/);
      expect(actions.length).toBe(/<form\b/i.test(html) ? 1 : 0);
    });
  });
});

describe('PAGE_HEADERS', () => {
  const csp = PAGE_HEADERS['content-security-policy'];

  it("allows style only from the page's own origin: no 'unsafe-inline', no hashes or nonces", () => {
    // Act
    const d = directives(csp);
    // Assess
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toMatch(/'(?:nonce|sha(?:256|384|512))-/);
    expect(d.get('style-src')).toEqual(["'self'"]);
  });

  it('denies everything else: default none, forms to the own origin, no framing, no <base>', () => {
    // Assess
    expect(Object.fromEntries(directives(csp))).toEqual({
      'default-src': ["'none'"],
      'style-src': ["'self'"],
      'form-action': ["'self'"],
      'frame-ancestors': ["'none'"],
      'base-uri': ["'none'"],
    });
  });

  it('is what every page answer carries, beside no-referrer, no-store and nosniff', () => {
    // Act
    const answer = htmlPage(200, PAGES[0]?.[1] ?? '');
    // Assess
    expect(answer.headers).toEqual({
      'content-type': 'text/html; charset=utf-8',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'content-security-policy':
        "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    });
  });
});
