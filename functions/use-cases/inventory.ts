import { type DriftFinding, findDrift } from '../domain/inventory';
import type { Policy } from '../domain/policy';
import { type Clock, isoSeconds } from '../domain/ports';
import type { Atlassian, AuditTrail, DriftReports, TokenRepository } from './ports';

/** The repositories these use cases read and write. */
export type InventoryStore = TokenRepository & DriftReports;

export interface InventoryDeps {
  store: InventoryStore;
  audit: AuditTrail;
  atlassian: Atlassian;
  clock: Clock;
  policy: Policy;
}

export interface DriftReport {
  generatedAt: string;
  serviceAccounts: number;
  tokensListed: number;
  tokensRecorded: number;
  findings: DriftFinding[];
}

/**
 * The periodic inventory: lists each catalogued service account's tokens at Atlassian, compares them with the
 * records, stores the report (`GET /inventory/drift`), writes findings to the audit trail (the notifier emails the admins).
 */
export async function runInventory(deps: InventoryDeps): Promise<DriftReport> {
  const records = await deps.store.allTokens();
  const findings: DriftFinding[] = [];
  let tokensListed = 0;
  for (const account of deps.policy.serviceAccounts) {
    const listed = await deps.atlassian.listTokens(account.atlassianId);
    tokensListed += listed.length;
    findings.push(
      ...findDrift(
        account.alias,
        listed,
        records.filter((r) => r.serviceAccount === account.alias),
        deps.clock.now(),
      ),
    );
  }
  const generatedAt = isoSeconds(deps.clock.now());
  const report: DriftReport = {
    generatedAt,
    serviceAccounts: deps.policy.serviceAccounts.length,
    tokensListed,
    tokensRecorded: records.length,
    findings,
  };
  await deps.store.putDriftReport({ ...report });
  if (findings.length > 0) {
    await deps.audit.append(
      {
        correlationId: 'inventory',
        event: 'DRIFT_DETECTED',
        at: generatedAt,
        actor: 'token-warden',
        requestId: 'inventory',
        details: {
          findings: findings.length,
          kinds: [...new Set(findings.map((f) => f.kind))],
          atlassianTokenIds: findings.flatMap((f) => (f.atlassianTokenId ? [f.atlassianTokenId] : [])),
        },
      },
      generatedAt,
    );
  }
  return report;
}
