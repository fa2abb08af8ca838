import { randomBytes } from 'node:crypto';
import { cryptoRandom } from '../../../functions/composition/random';
import {
  isLinkKey,
  LINK_KEY_ROTATION_DAYS,
  type LinkKeys,
  newLinkKey,
  readSignInStateWithAny,
  sealTaskToken,
  signApprovalLink,
  signInSecrets,
  signSignInState,
  signUploadLink,
  unsealTaskTokenWithAny,
  verifyApprovalLinkWithAny,
  verifyUploadLinkWithAny,
} from '../../../functions/domain/links';
import { MAX_APPROVAL_EXPIRY_HOURS } from '../../../functions/domain/policy';

const current = randomBytes(48);
const previous = randomBytes(48);
const dropped = randomBytes(48);
const keys: LinkKeys = { current, previous };
const expires = new Date('2026-12-01T10:00:00Z');
const approvalId = `apv_${'a'.repeat(26)}`;

describe('Link keys across a rotation', () => {
  describe('Function: verifyApprovalLinkWithAny', () => {
    it('accepts a link signed with the current key or the previous key, and reports its expiry', () => {
      // Prepare
      const byCurrent = signApprovalLink(current, approvalId, 'a@example.com', expires);
      const byPrevious = signApprovalLink(previous, approvalId, 'a@example.com', expires);
      // Act
      const checks = [byCurrent, byPrevious].map((sig) =>
        verifyApprovalLinkWithAny(keys, approvalId, 'a@example.com', sig),
      );
      // Assess
      expect(checks).toEqual([
        { valid: true, expiresAt: expires },
        { valid: true, expiresAt: expires },
      ]);
    });

    it('refuses a link signed with a key that is neither current nor previous', () => {
      // Prepare
      const sig = signApprovalLink(dropped, approvalId, 'a@example.com', expires);
      // Act
      const check = verifyApprovalLinkWithAny(keys, approvalId, 'a@example.com', sig);
      // Assess
      expect(check).toEqual({ valid: false });
    });

    it('refuses a link signed with the previous key once no previous key is held', () => {
      // Prepare
      const sig = signApprovalLink(previous, approvalId, 'a@example.com', expires);
      // Act
      const check = verifyApprovalLinkWithAny({ current }, approvalId, 'a@example.com', sig);
      // Assess
      expect(check).toEqual({ valid: false });
    });

    it('keeps the previous key bound to the approver: another approver is refused', () => {
      // Prepare
      const sig = signApprovalLink(previous, approvalId, 'a@example.com', expires);
      // Act
      const check = verifyApprovalLinkWithAny(keys, approvalId, 'b@example.com', sig);
      // Assess
      expect(check).toEqual({ valid: false });
    });
  });

  describe('Function: verifyUploadLinkWithAny', () => {
    it('accepts an upload link of the previous key, refuses one of a dropped key and an approval sig', () => {
      // Prepare
      const byPrevious = signUploadLink(previous, 'upl_x', 'admin@example.com', expires);
      const byDropped = signUploadLink(dropped, 'upl_x', 'admin@example.com', expires);
      const approvalSig = signApprovalLink(previous, 'upl_x', 'admin@example.com', expires);
      // Act
      const checks = [byPrevious, byDropped, approvalSig].map((sig) =>
        verifyUploadLinkWithAny(keys, 'upl_x', 'admin@example.com', sig),
      );
      // Assess
      expect(checks).toEqual([{ valid: true, expiresAt: expires }, { valid: false }, { valid: false }]);
    });
  });

  describe('Function: unsealTaskTokenWithAny', () => {
    it('unseals a task token sealed with the previous key', () => {
      // Prepare
      const sealed = sealTaskToken(previous, 'task-token-1', 'req_a');
      // Act
      const opened = unsealTaskTokenWithAny(keys, sealed, 'req_a');
      // Assess
      expect(opened).toBe('task-token-1');
    });

    it('opens nothing sealed with a dropped key, for another context, or in an unknown format', () => {
      // Prepare
      const byDropped = sealTaskToken(dropped, 'task-token-1', 'req_a');
      const byCurrent = sealTaskToken(current, 'task-token-1', 'req_a');
      // Act
      const opened = [
        unsealTaskTokenWithAny(keys, byDropped, 'req_a'),
        unsealTaskTokenWithAny(keys, byCurrent, 'req_b'),
        unsealTaskTokenWithAny(keys, 'v2.x.y.z', 'req_a'),
      ];
      // Assess
      expect(opened).toEqual([undefined, undefined, undefined]);
    });
  });

  describe('Function: readSignInStateWithAny', () => {
    it('reads a state of the previous key and answers that key, from which the sign-in secrets derive', () => {
      // Prepare
      const issuedAt = new Date('2026-11-28T10:00:00Z');
      const state = signSignInState(previous, approvalId, issuedAt, 'r'.repeat(24));
      // Act
      const read = readSignInStateWithAny(keys, state);
      // Assess
      expect(read).toEqual({ approvalId, issuedAt, key: previous });
      expect(signInSecrets(read!.key, state, 'b')).toEqual(signInSecrets(previous, state, 'b'));
      expect(readSignInStateWithAny({ current, previous: dropped }, state)).toBeUndefined();
    });
  });

  describe('Constant: LINK_KEY_ROTATION_DAYS', () => {
    it('is longer than the longest life of a link, even for two rotations a window apart', () => {
      // Assess: two rotations can land up to a day less apart (each anywhere in its UTC day), minus the keys' cache.
      expect(LINK_KEY_ROTATION_DAYS).toBe(32);
      expect((LINK_KEY_ROTATION_DAYS - 1) * 24 - 5 / 60).toBeGreaterThan(MAX_APPROVAL_EXPIRY_HOURS);
    });
  });

  describe('Function: newLinkKey', () => {
    it('makes 64 alphanumeric characters from the randomness port, drawing again for dropped - and _', () => {
      // Prepare
      const draws = [`${'-_'.repeat(30)}abcd`, `${'x'.repeat(60)}-_`, 'y'.repeat(64)];
      const random = { secret: (bytes: number) => (bytes === 48 ? (draws.shift() ?? '') : '') };
      // Act
      const key = newLinkKey(random);
      // Assess
      expect(key).toBe(`abcd${'x'.repeat(60)}`);
      expect(isLinkKey(key)).toBe(true);
      expect(draws).toEqual(['y'.repeat(64)]);
    });

    it('refuses a randomness source that gives no alphanumeric characters', () => {
      // Prepare
      const random = { secret: () => '-'.repeat(64) };
      // Act
      const make = () => newLinkKey(random);
      // Assess
      expect(make).toThrow('the randomness source gave too few alphanumeric characters');
    });

    it('makes a different valid key each time from the crypto randomness', () => {
      // Act
      const keys = [newLinkKey(cryptoRandom), newLinkKey(cryptoRandom)];
      // Assess
      expect(keys.every(isLinkKey)).toBe(true);
      expect(keys[0]).not.toBe(keys[1]);
      expect(isLinkKey(`${keys[0]}x`)).toBe(false);
      expect(isLinkKey(`${keys[0]?.slice(1)}-`)).toBe(false);
    });
  });
});
