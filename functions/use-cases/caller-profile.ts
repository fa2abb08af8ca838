import type { Caller } from '../domain/model';
import type { Policy } from '../domain/policy';

/** `GET /me`: who the console's signed-in person is, and which of its views apply to them. */
export interface CallerProfile {
  email: string;
  /** Carries the policy's `adminGroup`. */
  admin: boolean;
  /** Approves for some service account of the policy, or approves access exceptions. */
  approver: boolean;
}

/**
 * The profile of `caller` under `policy`. Emails are compared lower-cased, as every approval check compares them; a
 * role says which views the console offers, never what the API allows (each route checks that itself).
 */
export function profileOf(policy: Policy, caller: Caller): CallerProfile {
  const email = caller.email.toLowerCase();
  const approves = (approvers: readonly string[]) => approvers.some((a) => a.toLowerCase() === email);
  return {
    email,
    admin: caller.isAdmin,
    approver:
      policy.serviceAccounts.some((account) => approves(account.approvers)) ||
      approves(policy.personalTokens?.exceptions?.approvers ?? []),
  };
}
