import { randomBytes } from 'node:crypto';
import {
  csrfHash,
  sealTaskToken,
  signApprovalLink,
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
