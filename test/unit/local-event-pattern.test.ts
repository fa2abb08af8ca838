import { checkEventPattern, InvalidEventPatternError, matchesEventPattern } from '../../local/aws/event-pattern';

/** An event as EventBridge delivers it. */
const event = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'Token Issued',
  source: 'token-warden',
  account: '000000000000',
  time: '2026-12-03T10:00:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:secretsmanager:us-east-1:000000000000:secret:token-warden.jenkins-bot.ci-AbCdEf'],
  detail: {
    type: 'ISSUED',
    tokenId: 'tok-1',
    serviceAccount: 'jenkins-bot',
    generation: 2,
    lifetimeDays: 90,
    scopes: ['read:jira-work', 'write:jira-work'],
    owner: { email: 'alice@example.com', groups: [] },
    reason: null,
    sourceIp: '10.0.3.7',
    recipients: [{ email: 'approver1@example.com' }, { email: 'approver2@example.com' }],
  },
};

describe('matchesEventPattern', () => {
  it.each([
    ['exact source', { source: ['token-warden'] }],
    ['one of several values', { 'detail-type': ['Token Revoked', 'Token Issued'] }],
    ['source and detail-type together', { source: ['token-warden'], 'detail-type': ['Token Issued'] }],
    ['a nested detail field', { detail: { type: ['ISSUED'] } }],
    ['two levels deep', { detail: { owner: { email: ['alice@example.com'] } } }],
    ['a number exactly', { detail: { generation: [2] } }],
    ['null exactly', { detail: { reason: [null] } }],
    ['an array field by any element', { detail: { scopes: ['write:jira-work'] } }],
    ['an object in an array of objects', { detail: { recipients: { email: ['approver2@example.com'] } } }],
    ['prefix', { detail: { tokenId: [{ prefix: 'tok-' }] } }],
    ['prefix ignoring case', { detail: { tokenId: [{ prefix: { 'equals-ignore-case': 'TOK-' } }] } }],
    ['suffix', { detail: { serviceAccount: [{ suffix: '-bot' }] } }],
    ['equals-ignore-case', { detail: { type: [{ 'equals-ignore-case': 'issued' }] } }],
    ['wildcard', { 'detail-type': [{ wildcard: 'Token *' }] }],
    ['anything-but one value', { detail: { type: [{ 'anything-but': 'REVOKED' }] } }],
    ['anything-but a list', { detail: { type: [{ 'anything-but': ['REVOKED', 'EXPIRED'] }] } }],
    ['anything-but a prefix', { detail: { type: [{ 'anything-but': { prefix: 'ROT' } }] } }],
    ['exists true', { detail: { tokenId: [{ exists: true }] } }],
    ['exists false for an absent field', { detail: { requestId: [{ exists: false }] } }],
    ['numeric range', { detail: { lifetimeDays: [{ numeric: ['>', 30, '<=', 90] }] } }],
    ['numeric equality', { detail: { generation: [{ numeric: ['=', 2] }] } }],
    ['cidr', { detail: { sourceIp: [{ cidr: '10.0.0.0/16' }] } }],
    ['$or across fields', { $or: [{ detail: { type: ['REVOKED'] } }, { detail: { generation: [2] } }] }],
    ['an empty pattern', {}],
  ])('matches by %s', (_label, pattern) => {
    // Act
    const matched = matchesEventPattern(pattern, event);

    // Assess
    expect(matched).toBe(true);
  });

  it.each([
    ['another source', { source: ['aws.secretsmanager'] }],
    ['case of an exact value', { 'detail-type': ['token issued'] }],
    ['one field matching and another not', { source: ['token-warden'], 'detail-type': ['Token Revoked'] }],
    ['a string against a number', { detail: { generation: ['2'] } }],
    ['a number against a string', { detail: { tokenId: [1] } }],
    ['an absent field', { detail: { requestId: ['req-1'] } }],
    ['an absent parent', { detail: { request: { id: ['req-1'] } } }],
    ['a leaf pattern against an object', { detail: { owner: ['alice@example.com'] } }],
    ['prefix', { detail: { tokenId: [{ prefix: 'req-' }] } }],
    ['prefix of another case', { detail: { tokenId: [{ prefix: 'TOK-' }] } }],
    ['suffix', { detail: { serviceAccount: [{ suffix: '-human' }] } }],
    ['wildcard', { 'detail-type': [{ wildcard: 'Request *' }] }],
    ['anything-but the value', { detail: { type: [{ 'anything-but': ['ISSUED', 'REVOKED'] }] } }],
    ['anything-but on an absent field', { detail: { requestId: [{ 'anything-but': 'x' }] } }],
    ['exists true for an absent field', { detail: { requestId: [{ exists: true }] } }],
    ['exists false for a present field', { detail: { tokenId: [{ exists: false }] } }],
    ['numeric out of range', { detail: { lifetimeDays: [{ numeric: ['<', 90] }] } }],
    ['numeric against a string', { detail: { tokenId: [{ numeric: ['>', 0] }] } }],
    ['cidr', { detail: { sourceIp: [{ cidr: '10.1.0.0/16' }] } }],
    ['$or with no branch matching', { $or: [{ detail: { type: ['REVOKED'] } }, { detail: { generation: [3] } }] }],
  ])('does not match by %s', (_label, pattern) => {
    // Act
    const matched = matchesEventPattern(pattern, event);

    // Assess
    expect(matched).toBe(false);
  });

  it('matches exists false against an object, which is no leaf value', () => {
    // Act
    const matched = matchesEventPattern({ detail: { owner: [{ exists: false }] } }, event);

    // Assess
    expect(matched).toBe(true);
  });
});

describe('checkEventPattern', () => {
  it('accepts the patterns CDK emits', () => {
    // Prepare
    const pattern = {
      source: ['token-warden'],
      'detail-type': [{ prefix: 'Token ' }],
      detail: { type: [{ 'anything-but': ['X'] }] },
    };

    // Act / Assess
    expect(() => checkEventPattern(pattern)).not.toThrow();
  });

  it.each([
    ['a bare value', { source: 'token-warden' }, 'source: match value must be put inside a JSON array'],
    ['an unknown operator', { source: [{ contains: 'x' }] }, 'source: unrecognized match type contains'],
    ['a malformed numeric range', { detail: { n: [{ numeric: ['>'] }] } }, 'detail.n: numeric match pattern must be'],
    [
      'exists that is not boolean',
      { detail: { n: [{ exists: 'yes' }] } },
      'detail.n: exists match pattern must be true or false',
    ],
    ['a pattern that is not an object', ['token-warden'], 'pattern: must be a JSON object'],
  ])('refuses %s', (_label, pattern, message) => {
    // Act
    const check = () => checkEventPattern(pattern);

    // Assess
    expect(check).toThrow(InvalidEventPatternError);
    expect(check).toThrow(message);
  });
});
