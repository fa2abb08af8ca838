/** `GET /me`'s profile: the caller's email, whether they are an admin, and whether the policy makes them an approver. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PersonalTokenPolicy, Policy } from '../../../functions/domain/policy';
import { parsePolicy } from '../../../functions/domain/policy-text';
import { profileOf } from '../../../functions/use-cases/caller-profile';

const policy = parsePolicy(readFileSync(join(__dirname, '../../../policy/policy.yaml'), 'utf8'), 'policy.yaml');
const member = (email: string, isAdmin = false) => ({ email, isAdmin });

describe('Use case: caller profile', () => {
  describe('profileOf', () => {
    it('makes an approver of a service account an approver', () => {
      // Act
      const profile = profileOf(policy, member('approver2@example.com'));
      // Assess
      expect(profile).toEqual({ email: 'approver2@example.com', admin: false, approver: true });
    });

    it('makes an exceptions approver an approver, though they approve for no service account', () => {
      // Prepare
      const accountApprovers = policy.serviceAccounts.flatMap((a) => a.approvers);
      // Act
      const profile = profileOf(policy, member('security@example.com'));
      // Assess
      expect(accountApprovers).not.toContain('security@example.com');
      expect(profile).toEqual({ email: 'security@example.com', admin: false, approver: true });
    });

    it('makes a plain member neither, and an admin an admin but no approver', () => {
      // Act
      const alice = profileOf(policy, member('alice@example.com'));
      const admin = profileOf(policy, member('admin@example.com', true));
      // Assess
      expect(alice).toEqual({ email: 'alice@example.com', admin: false, approver: false });
      expect(admin).toEqual({ email: 'admin@example.com', admin: true, approver: false });
    });

    it('compares emails lower-cased, and answers the email lower-cased', () => {
      // Act
      const profile = profileOf(policy, member('Approver1@Example.COM'));
      // Assess
      expect(profile).toEqual({ email: 'approver1@example.com', admin: false, approver: true });
    });

    it('matches the whole email only: a prefix or a suffix of an approver is no approver', () => {
      // Act
      const near = ['approver1@example.co', 'xapprover1@example.com', 'security@example.com.evil'].map(
        (email) => profileOf(policy, member(email)).approver,
      );
      // Assess
      expect(near).toEqual([false, false, false]);
    });

    it('makes nobody an exceptions approver when the policy has no exceptions, or no personal tokens', () => {
      // Prepare
      const personal = policy.personalTokens as PersonalTokenPolicy;
      const { exceptions: _dropped, ...withoutExceptions } = personal;
      const noExceptions: Policy = { ...policy, personalTokens: withoutExceptions };
      const { personalTokens: _none, ...noPersonal } = policy;
      // Act
      const answers = [noExceptions, noPersonal as Policy].map((p) => profileOf(p, member('security@example.com')));
      // Assess
      expect(answers.map((a) => a.approver)).toEqual([false, false]);
      expect(profileOf(noPersonal as Policy, member('approver1@example.com')).approver).toBe(true);
    });
  });
});
