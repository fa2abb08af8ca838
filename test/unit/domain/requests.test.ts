import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RequestError } from '../../../functions/domain/errors';
import { toRequestRepresentation } from '../../../functions/domain/model';
import { parsePolicy } from '../../../functions/domain/policy-text';
import {
  applyDecision,
  bodyHash,
  cancelRequest,
  checkRequestAgainstPolicy,
  eligibleApprovers,
  expiryFor,
  newRequest,
  parseCreateRequestBody,
  rotationDueAt,
} from '../../../functions/domain/requests';

const policy = parsePolicy(readFileSync(join(__dirname, '../../../policy/policy.yaml'), 'utf8'), 'policy.yaml');
const now = new Date('2026-11-28T10:00:00.123Z');
const body = {
  serviceAccount: 'jenkins-bot',
  name: 'ci-main',
  scopes: ['read:jira-work'],
  lifetimeDays: 30,
  justification: 'Jenkins reads issues',
};

function refusal(fn: () => unknown): { code: string; field?: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (error instanceof RequestError) return { code: error.code, field: error.field, message: error.message };
    throw error;
  }
  throw new Error('expected a RequestError');
}

describe('parseCreateRequestBody', () => {
  it('accepts a valid body', () => {
    expect(parseCreateRequestBody(body)).toEqual(body);
  });

  it.each([
    [{ ...body, name: 'has space' }, 'name'],
    [{ ...body, name: 'x'.repeat(65) }, 'name'],
    [{ ...body, scopes: [] }, 'scopes'],
    [{ ...body, scopes: ['a', 'a'] }, 'scopes'],
    [{ ...body, lifetimeDays: 0 }, 'lifetimeDays'],
    [{ ...body, lifetimeDays: 1.5 }, 'lifetimeDays'],
    [{ ...body, lifetimeDays: '30' }, 'lifetimeDays'],
    [{ ...body, justification: '   ' }, 'justification'],
    [{ ...body, justification: 'a\u0000b' }, 'justification'],
    [{ ...body, consumers: 'arn' }, 'consumers'],
    [{ ...body, requester: 'mallory@example.com' }, 'requester'],
    [(({ serviceAccount: _s, ...rest }) => rest)(body), 'serviceAccount'],
  ])('refuses %j naming field %s', (input, field) => {
    const r = refusal(() => parseCreateRequestBody(input));
    expect(r.code).toBe('VALIDATION_ERROR');
    expect(r.field).toBe(field);
  });

  // Every class of character that could start a line, hide text or turn its direction in an email or a page.
  const CONTROL_CLASSES: [string, string][] = [
    ['a line feed', '\n'],
    ['a carriage return', '\r'],
    ['a CR LF pair', '\r\n'],
    ['a tab', '\t'],
    ['a vertical tab', '\u000b'],
    ['a form feed', '\u000c'],
    ['a NUL', '\u0000'],
    ['an escape', '\u001b'],
    ['a DEL', '\u007f'],
    ['a C1 next line', '\u0085'],
    ['a C1 control', '\u009b'],
    ['a line separator', '\u2028'],
    ['a paragraph separator', '\u2029'],
    ['a left-to-right embedding', '\u202a'],
    ['a right-to-left override', '\u202e'],
    ['a left-to-right isolate', '\u2066'],
    ['a pop directional isolate', '\u2069'],
    ['a left-to-right mark', '\u200e'],
    ['a right-to-left mark', '\u200f'],
    ['an Arabic letter mark', '\u061c'],
    ['a zero-width space', '\u200b'],
    ['a zero-width joiner', '\u200d'],
    ['a word joiner', '\u2060'],
    ['a byte order mark', '\ufeff'],
    ['a lone surrogate', '\ud800'],
  ];
  const withText = (field: string, text: string): Record<string, unknown> => {
    if (field === 'scopes') return { ...body, scopes: [`read:jira-work${text}`] };
    if (field === 'consumers') return { ...body, consumers: [`arn:aws:iam::000000000000:role/jenkins${text}`] };
    return { ...body, [field]: `${String(body[field as keyof typeof body])}${text}x` };
  };
  describe.each(['justification', 'serviceAccount', 'name', 'scopes', 'consumers'])(
    'a %s holding a character that could add a line, a link or a direction change',
    (field) => {
      it.each(CONTROL_CLASSES)('refuses a %s (400 naming the field)', (_what, char) => {
        const r = refusal(() => parseCreateRequestBody(withText(field, char)));
        expect(r).toMatchObject({ code: 'VALIDATION_ERROR', field });
      });
    },
  );

  it('refuses a forged second paragraph in the justification', () => {
    const forged = 'Release notes\n\nOpen this link to review and approve or reject:\nhttps://evil.example/approve';
    expect(refusal(() => parseCreateRequestBody({ ...body, justification: forged }))).toMatchObject({
      code: 'VALIDATION_ERROR',
      field: 'justification',
    });
  });

  it('accepts a justification in another script, with accents, emoji and a URL inside the line', () => {
    const text = 'Jenkins liest Jira-Tickets für Release-Notes 🚀 — see https://wiki.example/x · عربى';
    expect(parseCreateRequestBody({ ...body, justification: text }).justification).toBe(text);
  });

  it.each(['.', '..', '...'])('refuses the name %j, which is only dots (400 naming name)', (name) => {
    expect(refusal(() => parseCreateRequestBody({ ...body, name }))).toMatchObject({
      code: 'VALIDATION_ERROR',
      field: 'name',
    });
  });

  it.each(['.ci', 'ci.', 'a..b', '-', '_'])('accepts the name %j (dots alongside other characters)', (name) => {
    expect(parseCreateRequestBody({ ...body, name }).name).toBe(name);
  });

  it('says a missing property is required', () => {
    const { name: _n, ...rest } = body;
    expect(refusal(() => parseCreateRequestBody(rest)).message).toBe('name: is required');
  });

  it.each([null, [], 'text', 42])('refuses a non-object body %j', (input) => {
    expect(refusal(() => parseCreateRequestBody(input))).toEqual({
      code: 'VALIDATION_ERROR',
      field: undefined,
      message: 'body must be a JSON object',
    });
  });
});

describe('checkRequestAgainstPolicy', () => {
  const parsed = parseCreateRequestBody(body);

  it('defaults consumers and excludes the requester from approvers', () => {
    const check = checkRequestAgainstPolicy(parsed, policy, 'approver1@example.com');
    expect(check.consumers).toEqual(['arn:aws:iam::000000000000:role/jenkins']);
    expect(check.approvers).toEqual(['approver2@example.com']);
  });

  it.each([
    [{ ...parsed, serviceAccount: 'nobody' }, 'serviceAccount'],
    [{ ...parsed, scopes: ['manage:jira-configuration'] }, 'scopes'],
    [{ ...parsed, lifetimeDays: 91 }, 'lifetimeDays'],
    [{ ...parsed, lifetimeDays: 7 }, 'lifetimeDays'],
    [{ ...parsed, consumers: ['arn:aws:iam::000000000000:role/other'] }, 'consumers'],
  ])('refuses %j as a policy violation of %s', (input, field) => {
    const r = refusal(() => checkRequestAgainstPolicy(input, policy, 'alice@example.com'));
    expect(r).toMatchObject({ code: 'POLICY_VIOLATION', field });
  });

  it('refuses when the requester leaves too few eligible approvers', () => {
    const strict = { ...policy, serviceAccounts: [{ ...policy.serviceAccounts[0]!, approvalsRequired: 2 }] };
    const r = refusal(() => checkRequestAgainstPolicy(parsed, strict, 'APPROVER1@example.com'));
    expect(r).toMatchObject({ code: 'POLICY_VIOLATION', field: 'serviceAccount' });
    expect(checkRequestAgainstPolicy(parsed, strict, 'alice@example.com').approvers).toHaveLength(2);
  });

  it('compares approver emails case-insensitively', () => {
    expect(eligibleApprovers(policy.serviceAccounts[0]!, 'Approver2@EXAMPLE.com')).toEqual(['approver1@example.com']);
  });
});

describe('request lifecycle', () => {
  const parsed = parseCreateRequestBody(body);
  const request = () =>
    newRequest({
      requestId: 'req_aaaaaaaaaaaaaaaaaaaaaaaaaa',
      body: parsed,
      check: checkRequestAgainstPolicy(parsed, policy, 'alice@example.com'),
      requester: 'Alice@example.com',
      now,
    });

  it('starts pending, with whole-second UTC times and no issuance fields', () => {
    const r = request();
    expect(r.status).toBe('PENDING_APPROVAL');
    expect(r.createdAt).toBe('2026-11-28T10:00:00Z');
    expect(r.requester).toBe('alice@example.com');
    const rep = toRequestRepresentation(r);
    expect(rep).not.toHaveProperty('tokenId');
    expect(rep).not.toHaveProperty('reason');
    expect(rep).not.toHaveProperty('bodyHash');
  });

  it('approves at the quorum', () => {
    const { request: next, outcome } = applyDecision(request(), 'approver1@example.com', 'APPROVED', now);
    expect(outcome).toBe('APPROVED');
    expect(next.status).toBe('APPROVED');
    expect(next.approvals).toEqual([
      { approver: 'approver1@example.com', decision: 'APPROVED', decidedAt: '2026-11-28T10:00:00Z' },
    ]);
  });

  it('waits for more approvals below the quorum, and one reject ends it', () => {
    const two = { ...request(), approvalsRequired: 2 };
    const first = applyDecision(two, 'approver1@example.com', 'APPROVED', now);
    expect(first.outcome).toBe('PENDING');
    const second = applyDecision(first.request, 'approver2@example.com', 'REJECTED', now);
    expect(second.outcome).toBe('REJECTED');
    expect(second.request.status).toBe('REJECTED');
  });

  it('refuses a second decision, a non-approver and a decided request', () => {
    const two = { ...request(), approvalsRequired: 2 };
    const first = applyDecision(two, 'approver1@example.com', 'APPROVED', now).request;
    expect(refusal(() => applyDecision(first, 'approver1@example.com', 'APPROVED', now)).code).toBe('CONFLICT');
    expect(refusal(() => applyDecision(first, 'alice@example.com', 'APPROVED', now)).code).toBe('FORBIDDEN');
    const rejected = applyDecision(first, 'approver2@example.com', 'REJECTED', now).request;
    expect(refusal(() => applyDecision(rejected, 'approver2@example.com', 'APPROVED', now)).code).toBe('CONFLICT');
  });

  it('cancels only pending requests, by the requester or an admin', () => {
    const r = request();
    expect(cancelRequest(r, { email: 'alice@example.com', isAdmin: false }, now)).toMatchObject({
      status: 'REJECTED',
      reason: 'CANCELLED',
    });
    expect(cancelRequest(r, { email: 'admin@example.com', isAdmin: true }, now).status).toBe('REJECTED');
    expect(refusal(() => cancelRequest(r, { email: 'bob@example.com', isAdmin: false }, now)).code).toBe('NOT_FOUND');
    const approved = applyDecision(r, 'approver1@example.com', 'APPROVED', now).request;
    expect(refusal(() => cancelRequest(approved, { email: 'alice@example.com', isAdmin: false }, now)).code).toBe(
      'CONFLICT',
    );
  });

  it('hashes bodies canonically (consumers absent differs from empty)', () => {
    expect(bodyHash(parsed)).toBe(bodyHash({ ...parsed }));
    expect(bodyHash(parsed)).not.toBe(bodyHash({ ...parsed, consumers: [] }));
  });

  it('computes expiry and rotation due time', () => {
    const expiry = expiryFor(now, 30);
    expect(expiry.toISOString()).toBe('2026-12-28T10:00:00.000Z');
    expect(rotationDueAt(expiry, 7).toISOString()).toBe('2026-12-21T10:00:00.000Z');
  });
});
