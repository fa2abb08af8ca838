import { type DriftFinding, findDrift } from '../domain/inventory';
import type { Policy } from '../domain/policy';
import { type Clock, isoSeconds } from '../domain/ports';
import type { Atlassian, AuditTrail, DriftReports, Mailer, NotificationMarkers, TokenRepository } from './ports';
import { notifyMarked } from './rotation';

/** The repositories these use cases read and write. */
export type InventoryStore = TokenRepository & NotificationMarkers & DriftReports;

export interface InventoryDeps {
  store: InventoryStore;
  audit: AuditTrail;
  atlassian: Atlassian;
  mailer: Mailer;
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
 * records, stores the report (`GET /inventory/drift`), writes findings to the audit trail and emails admins.
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
    await notifyMarked(deps, `inventory:${generatedAt}`, deps.policy.notifications.adminEmails, {
      subject: `Token inventory: ${findings.length} finding(s)`,
      text: [
        `The inventory of ${generatedAt} found differences between Token Warden's records and Atlassian:`,
        '',
        ...findings.map((f) => `- ${f.kind} ${f.serviceAccount} ${f.label ?? ''} ${f.tokenId ?? ''}: ${f.detail}`),
        '',
        'GET /inventory/drift shows the full report.',
      ].join('\n'),
    });
  }
  return report;
}
