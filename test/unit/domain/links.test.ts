import { createHash, randomBytes } from 'node:crypto';
import {
  csrfHash,
  readSignInState,
  sealTaskToken,
  signApprovalLink,
  signedInCsrfHash,
  signInSecrets,
  signSignInState,
  unsealTaskToken,
  verifyApprovalLink,
} from '../../../functions/domain/links';
import { mintLabel, secretNameFor, secretVersionId, tokenIdFor } from '../../../functions/domain/naming';

const key = randomBytes(48);
const expires = new Date('2026-12-01T10:00:00Z');

describe('approval link signatures', () => {
  const sig = signApprovalLink(key, 'apv_x', 'approver1@example.com', expires);

  it('verifies its own signature and reports the expiry', () => {
    expect(verifyApprovalLink(key, 'apv_x', 'APPROVER1@example.com', sig)).toEqual({ valid: true, expiresAt: expires });
  });

  it.each([
    ['another approval', 'apv_y', 'approver1@example.com', sig],
    ['another approver', 'apv_x', 'approver2@example.com', sig],
    ['a moved expiry', 'apv_x', 'approver1@example.com', sig.replace(/^\d+/, (d) => String(Number(d) + 3600))],
    ['a flipped mac', 'apv_x', 'approver1@example.com', sig.slice(0, -1) + (sig.endsWith('A') ? 'B' : 'A')],
    ['garbage', 'apv_x', 'approver1@example.com', 'not-a-sig'],
  ])('refuses %s', (_what, id, approver, s) => {
    expect(verifyApprovalLink(key, id, approver, s)).toEqual({ valid: false });
  });

  it('refuses a signature made with another key', () => {
    const other = signApprovalLink(randomBytes(48), 'apv_x', 'approver1@example.com', expires);
    expect(verifyApprovalLink(key, 'apv_x', 'approver1@example.com', other)).toEqual({ valid: false });
  });
});

describe('task token sealing', () => {
  it('round-trips and binds the context', () => {
    const sealed = sealTaskToken(key, 'AQCEAAAAKgAAAAMAAAAA-token', 'req_a');
    expect(sealed).not.toContain('token');
    expect(unsealTaskToken(key, sealed, 'req_a')).toBe('AQCEAAAAKgAAAAMAAAAA-token');
    expect(() => unsealTaskToken(key, sealed, 'req_b')).toThrow();
    expect(() => unsealTaskToken(randomBytes(48), sealed, 'req_a')).toThrow();
  });
});

describe('naming', () => {
  it('derives stable names', () => {
    expect(tokenIdFor('req_abc')).toBe('tok_abc');
    expect(secretNameFor('jenkins-bot', 'ci.main')).toBe('token-warden.jenkins-bot.ci.main');
    expect(mintLabel('tok_abc', 2)).toBe('token-warden:tok_abc:g2');
    expect(secretVersionId('tok_abc', 1)).toBe(secretVersionId('tok_abc', 1));
    expect(secretVersionId('tok_abc', 1)).not.toBe(secretVersionId('tok_abc', 2));
    expect(secretVersionId('tok_abc', 1)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(csrfHash('x')).toHaveLength(64);
  });
});

describe('approver sign-in state and PKCE', () => {
  const approvalId = `apv_${'a'.repeat(26)}`;
  const issuedAt = new Date('2026-11-28T10:00:00Z');
  const state = signSignInState(key, approvalId, issuedAt, 'r'.repeat(24));

  it('reads back the approval and the start time of its own state', () => {
    expect(readSignInState(key, state)).toEqual({ approvalId, issuedAt });
  });

  it('refuses a state that was altered, made with another key, or malformed', () => {
    const [id, at, random, mac] = state.split('.') as [string, string, string, string];
    const otherApproval = `apv_${'b'.repeat(26)}`;
    expect(readSignInState(key, [otherApproval, at, random, mac].join('.'))).toBeUndefined();
    expect(readSignInState(key, [id, String(Number(at) + 3600), random, mac].join('.'))).toBeUndefined();
    expect(readSignInState(key, [id, at, 's'.repeat(24), mac].join('.'))).toBeUndefined();
    expect(readSignInState(randomBytes(48), state)).toBeUndefined();
    expect(readSignInState(key, `${state}x`)).toBeUndefined();
    expect(readSignInState(key, '')).toBeUndefined();
    // An approval link's signature is not a sign-in state, even over the same id.
    expect(
      readSignInState(key, `${approvalId}.${signApprovalLink(key, approvalId, 'a@example.com', issuedAt)}`),
    ).toBeUndefined();
  });

  it('derives an RFC 7636 verifier and S256 challenge, and a nonce, that depend on the browser binding', () => {
    const one = signInSecrets(key, state, 'browser-1');
    expect(one.codeVerifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(one.codeChallenge).toBe(createHash('sha256').update(one.codeVerifier).digest('base64url'));
    expect(signInSecrets(key, state, 'browser-1')).toEqual(one);
    const other = signInSecrets(key, state, 'browser-2');
    expect(other.codeVerifier).not.toBe(one.codeVerifier);
    expect(other.nonce).not.toBe(one.nonce);
    expect(one.nonce).not.toBe(one.codeVerifier);
  });

  it('keeps anti-forgery values issued after sign-in apart from plain ones and binds them to the approver', () => {
    expect(signedInCsrfHash('v', 'Approver1@example.com')).toBe(signedInCsrfHash('v', 'approver1@example.com'));
    expect(signedInCsrfHash('v', 'approver1@example.com')).not.toBe(csrfHash('v'));
    expect(signedInCsrfHash('v', 'approver1@example.com')).not.toBe(signedInCsrfHash('v', 'approver2@example.com'));
  });
});
