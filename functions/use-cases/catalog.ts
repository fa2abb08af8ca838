import type { Policy } from '../domain/policy';

/** A service account as members see it: what they may ask for, never its approvers or Atlassian identifiers. */
export interface CatalogEntry {
  alias: string;
  allowedScopes: string[];
  maxLifetimeDays: number;
  approvalsRequired: number;
  allowedConsumers: string[];
  defaultConsumers: string[];
  issuance: 'api' | 'manual';
}

/** `GET /catalog`: the policy's service accounts, and whether personal tokens and access exceptions are governed. */
export interface Catalog {
  serviceAccounts: CatalogEntry[];
  /** Present when the policy governs members' personal tokens. */
  personalTokens?: { mode: 'report' | 'notify' | 'revoke' };
  /** Present when members may ask for access exceptions. */
  exceptions?: { maxDays: number };
}

/** The catalog of `policy`. */
export function catalogOf(policy: Policy): Catalog {
  const catalog: Catalog = {
    serviceAccounts: policy.serviceAccounts.map((a) => ({
      alias: a.alias,
      allowedScopes: [...a.allowedScopes],
      maxLifetimeDays: a.maxLifetimeDays,
      approvalsRequired: a.approvalsRequired,
      allowedConsumers: [...a.allowedConsumers],
      defaultConsumers: [...a.defaultConsumers],
      issuance: a.issuance,
    })),
  };
  if (policy.personalTokens) catalog.personalTokens = { mode: policy.personalTokens.mode };
  if (policy.personalTokens?.exceptions) catalog.exceptions = { maxDays: policy.personalTokens.exceptions.maxDays };
  return catalog;
}
