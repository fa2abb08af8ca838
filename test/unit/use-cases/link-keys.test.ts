import { randomBytes } from 'node:crypto';
import {
  type LinkKeys,
  sealTaskToken,
  signApprovalLink,
  signSignInState,
  signUploadLink,
} from '../../../functions/domain/links';
import {
  readSignInStateWith,
  signingKey,
  unsealTaskTokenWith,
  verifyApprovalLinkWith,
  verifyUploadLinkWith,
} from '../../../functions/use-cases/link-keys';
import type { LinkKeyring } from '../../../functions/use-cases/ports';

const k1 = randomBytes(48);
const k2 = randomBytes(48);
const k3 = randomBytes(48);
const expires = new Date('2026-12-01T10:00:00Z');
const approvalId = `apv_${'a'.repeat(26)}`;

/** A keyring that answers `cached` until it is asked to refresh, then `fresh`; it counts the refreshes. */
function keyring(cached: LinkKeys, fresh: LinkKeys = cached) {
  let refreshed = false;
  const calls: { refresh: boolean }[] = [];
  const read: LinkKeyring = async (options = {}) => {
    calls.push({ refresh: options.refresh === true });
    if (options.refresh) refreshed = true;
    return refreshed ? fresh : cached;
  };
  return { read, calls };
}

describe('Use case helpers: link keys', () => {
  describe('Function: signingKey', () => {
    it('is always the current key, also while a previous one is held', async () => {
      // Prepare
      const ring = keyring({ current: k2, previous: k1 });
      // Act
      const key = await signingKey(ring.read);
      // Assess
      expect(key).toBe(k2);
    });
  });

  describe('Function: verifyApprovalLinkWith', () => {
    it('accepts a link of the previous key from the cache, without reading the keys again', async () => {
      // Prepare
      const ring = keyring({ current: k2, previous: k1 });
      const sig = signApprovalLink(k1, approvalId, 'a@example.com', expires);
      // Act
      const check = await verifyApprovalLinkWith(ring.read, approvalId, 'a@example.com', sig);
      // Assess
      expect(check).toEqual({ valid: true, expiresAt: expires });
      expect(ring.calls).toEqual([{ refresh: false }]);
    });

    it('reads the keys again once when the cached ones miss a key a rotation just made current', async () => {
      // Prepare
      const ring = keyring({ current: k1 }, { current: k2, previous: k1 });
      const sig = signApprovalLink(k2, approvalId, 'a@example.com', expires);
      // Act
      const check = await verifyApprovalLinkWith(ring.read, approvalId, 'a@example.com', sig);
      // Assess
      expect(check).toEqual({ valid: true, expiresAt: expires });
      expect(ring.calls).toEqual([{ refresh: false }, { refresh: true }]);
    });

    it('refuses a link of a key neither current nor previous after one refresh', async () => {
      // Prepare
      const ring = keyring({ current: k3, previous: k2 });
      const sig = signApprovalLink(k1, approvalId, 'a@example.com', expires);
      // Act
      const check = await verifyApprovalLinkWith(ring.read, approvalId, 'a@example.com', sig);
      // Assess
      expect(check).toEqual({ valid: false });
      expect(ring.calls).toEqual([{ refresh: false }, { refresh: true }]);
    });
  });

  describe('Function: verifyUploadLinkWith', () => {
    it('accepts an upload link of the previous key and refuses one of a dropped key', async () => {
      // Prepare
      const ring = keyring({ current: k3, previous: k2 });
      // Act
      const ok = await verifyUploadLinkWith(
        ring.read,
        'upl_x',
        'admin@example.com',
        signUploadLink(k2, 'upl_x', 'admin@example.com', expires),
      );
      const refused = await verifyUploadLinkWith(
        ring.read,
        'upl_x',
        'admin@example.com',
        signUploadLink(k1, 'upl_x', 'admin@example.com', expires),
      );
      // Assess
      expect([ok, refused]).toEqual([{ valid: true, expiresAt: expires }, { valid: false }]);
    });
  });

  describe('Function: unsealTaskTokenWith', () => {
    it('unseals a task token sealed with the previous key', async () => {
      // Prepare
      const ring = keyring({ current: k2, previous: k1 });
      // Act
      const token = await unsealTaskTokenWith(ring.read, sealTaskToken(k1, 'task-token-1', 'req_a'), 'req_a');
      // Assess
      expect(token).toBe('task-token-1');
    });

    it('throws, naming the context only, when neither key opens it after a refresh', async () => {
      // Prepare
      const ring = keyring({ current: k3, previous: k2 });
      // Act
      const failed = unsealTaskTokenWith(ring.read, sealTaskToken(k1, 'task-token-1', 'req_a'), 'req_a');
      // Assess
      await expect(failed).rejects.toThrow(
        'the task token sealed for req_a opens with neither the current nor the previous link key',
      );
      expect(ring.calls).toHaveLength(2);
    });
  });

  describe('Function: readSignInStateWith', () => {
    it('answers the key that made the state', async () => {
      // Prepare
      const ring = keyring({ current: k2, previous: k1 });
      const issuedAt = new Date('2026-11-28T10:00:00Z');
      const state = signSignInState(k1, approvalId, issuedAt, 'r'.repeat(24));
      // Act
      const read = await readSignInStateWith(ring.read, state);
      // Assess
      expect(read).toEqual({ approvalId, issuedAt, key: k1 });
    });
  });
});
