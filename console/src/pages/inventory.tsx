import { useRef, useState } from 'preact/hooks';
import { ConfirmRevoke } from '../components/confirm-revoke';
import { type FilterField, Filters, useUrlFilters } from '../components/filters';
import { Details, ErrorNotice, Loading, LoadMore, Notice, PageTitle, Status, Table, Time } from '../components/ui';
import { useConsole } from '../context';
import { type Load, useAction, useLoad, usePages } from '../hooks';
import type { DriftReport, Page, PersonalToken, Scan } from '../types';

const PERSONAL_TOKEN_STATES = ['OPEN', 'EXEMPT', 'REVOKED', 'GONE'] as const;
const PERSONAL_TOKEN_FLAGS = ['UNSCOPED', 'STALE', 'NEVER_USED', 'OVER_LIFETIME', 'UNAPPROVED_ACCESS'] as const;
/** The last inventory of the service accounts' tokens: what differs between the records and Atlassian. */
function Drift({ drift }: { drift: Load<DriftReport> }) {
  const report = drift.data;
  return (
    <section aria-labelledby="drift-heading">
      <h2 id="drift-heading">Service-account drift</h2>
      {drift.loading && <Loading what="the drift report" />}
      {drift.error?.status === 404 ? <p>No drift report yet.</p> : <ErrorNotice error={drift.error} />}
      {report && (
        <>
          <Details
            rows={[
              ['Generated', <Time key="g" iso={report.generatedAt} />],
              ['Service accounts', String(report.serviceAccounts)],
              ['Tokens at Atlassian', String(report.tokensListed)],
              ['Tokens recorded', String(report.tokensRecorded)],
            ]}
          />
          {report.findings.length === 0 ? (
            <p>No drift: the records match what Atlassian lists.</p>
          ) : (
            <Table label="Drift findings" head={['Kind', 'Service account', 'Token', 'Detail']}>
              {report.findings.map((f, i) => (
                <tr key={`${f.kind}-${f.atlassianTokenId ?? f.tokenId ?? i}`}>
                  <td>
                    <Status value={f.kind} />
                  </td>
                  <td>{f.serviceAccount}</td>
                  <td>
                    {f.tokenId ? (
                      <a href={`/console/tokens/${encodeURIComponent(f.tokenId)}`}>{f.label ?? f.tokenId}</a>
                    ) : (
                      (f.label ?? f.atlassianTokenId ?? <span class="muted">—</span>)
                    )}
                    {f.generation !== undefined && <span class="muted"> generation {f.generation}</span>}
                  </td>
                  <td>{f.detail}</td>
                </tr>
              ))}
            </Table>
          )}
        </>
      )}
    </section>
  );
}

/** *Run a scan* of the organization's personal tokens, and the scan's status with *Refresh*. */
function RunScan() {
  const { api } = useConsole();
  const [scanId, setScanId] = useState<string>();
  const start = useAction(() => api.post<{ scanId: string; startedAt: string }>('/inventory/scan'));
  const scan = useLoad(
    () => (scanId ? api.get<Scan>(`/inventory/scans/${encodeURIComponent(scanId)}`) : Promise.resolve(undefined)),
    [api, scanId],
  );
  const run = async () => {
    const started = await start.act();
    if (started) setScanId(started.scanId);
  };
  const s = scan.data;
  return (
    <section aria-labelledby="scan-heading">
      <h2 id="scan-heading">Scan</h2>
      <p>A scan lists every member's personal tokens at Atlassian now, rather than at the daily schedule.</p>
      <div class="actions">
        <button type="button" disabled={start.busy} onClick={() => void run()}>
          Run a scan
        </button>
        {scanId && (
          <button type="button" class="secondary" disabled={scan.loading} onClick={scan.reload}>
            Refresh
          </button>
        )}
      </div>
      <ErrorNotice error={start.error} />
      <div aria-live="polite">
        {scanId && scan.loading && <Loading what="the scan" />}
        <ErrorNotice error={scan.error} />
        {s && (
          <Details
            rows={[
              ['Scan', <code key="i">{s.scanId}</code>],
              ['Status', <Status key="s" value={s.status} />],
              ['Started', <Time key="t" iso={s.startedAt} />],
              ['Finished', <Time key="f" iso={s.finishedAt} />],
              ['Listed', String(s.listed)],
              ['New', String(s.new)],
              ['Revoked', String(s.revoked)],
              ['Gone', String(s.gone)],
              ...(s.revocationsCapped
                ? ([['Revocations over the cap', String(s.revocationsCapped)]] as Array<[string, string]>)
                : []),
              ...(s.error ? ([['Last error', s.error]] as Array<[string, string]>) : []),
            ]}
          />
        )}
      </div>
    </section>
  );
}

const PERSONAL_FILTERS: FilterField[] = [
  { name: 'state', label: 'State', options: PERSONAL_TOKEN_STATES },
  { name: 'flag', label: 'Flag', options: PERSONAL_TOKEN_FLAGS },
  { name: 'owner', label: 'Owner', email: true },
];

/** Members' personal tokens, with their flags and states, filtered in the URL; each open one can be revoked. */
function PersonalTokens() {
  const { api } = useConsole();
  const filters = useUrlFilters(PERSONAL_FILTERS);
  const pages = usePages(
    (nextToken) => api.get<Page<PersonalToken>>('/inventory/personal-tokens', { ...filters.values, nextToken }),
    [api, filters.key],
  );
  const [revoked, setRevoked] = useState<Record<string, PersonalToken>>({});
  const [confirming, setConfirming] = useState<PersonalToken>();
  const [told, setTold] = useState<string>();
  const rowButtons = useRef<Record<string, HTMLButtonElement | null>>({});
  const backTo = (id: string) => requestAnimationFrame(() => rowButtons.current[id]?.focus());
  const items = pages.items.map((t) => revoked[t.atlassianTokenId] ?? t);
  const filtered = Object.values(filters.values).some(Boolean);
  return (
    <section aria-labelledby="pt-heading">
      <h2 id="pt-heading">Personal tokens</h2>
      <Filters label="Filter personal tokens" fields={PERSONAL_FILTERS} filters={filters} error={pages.error} />
      {told && <Notice>{told}</Notice>}
      {confirming && (
        <ConfirmRevoke
          label="Confirm revoking the personal token"
          idPrefix="pt"
          question={
            <>
              Revoke <strong>{confirming.label}</strong> of {confirming.owner.email}? The owner is told by email.
            </>
          }
          revoke={(why) =>
            api.post<PersonalToken>(
              `/inventory/personal-tokens/${encodeURIComponent(confirming.atlassianTokenId)}/revoke`,
              why ? { reason: why } : {},
            )
          }
          onKeep={() => {
            setConfirming(undefined);
            backTo(confirming.atlassianTokenId);
          }}
          onDone={(answer) => {
            setRevoked((r) => ({ ...r, [answer.atlassianTokenId]: answer }));
            setConfirming(undefined);
            setTold(`Revoked ${answer.label} of ${answer.owner.email}.`);
          }}
        />
      )}
      {!pages.loading && !pages.error && items.length === 0 && (
        <p>{filtered ? 'No personal token matches these filters.' : 'No personal tokens recorded yet.'}</p>
      )}
      {items.length > 0 && (
        <Table
          label="Personal tokens"
          head={['Owner', 'Label', 'Flags', 'State', 'Last active', 'Revoke at', 'Action']}
        >
          {items.map((t) => (
            <tr key={t.atlassianTokenId}>
              <td>{t.owner.email}</td>
              <td>{t.label}</td>
              <td>{t.flags.length > 0 ? t.flags.join(', ') : <span class="muted">none</span>}</td>
              <td>
                <Status value={t.state} />
              </td>
              <td>
                <Time iso={t.lastActiveAt} />
              </td>
              <td>
                {t.revokedAt ? (
                  <>
                    revoked <Time iso={t.revokedAt} />
                  </>
                ) : (
                  <Time iso={t.revokeAt} />
                )}
              </td>
              <td>
                {t.state === 'OPEN' || t.state === 'EXEMPT' ? (
                  <button
                    ref={(el) => {
                      rowButtons.current[t.atlassianTokenId] = el;
                    }}
                    type="button"
                    class="danger"
                    aria-label={`Revoke ${t.label} of ${t.owner.email}`}
                    disabled={confirming !== undefined}
                    onClick={() => {
                      setTold(undefined);
                      setConfirming(t);
                    }}
                  >
                    Revoke
                  </button>
                ) : (
                  <span class="muted">—</span>
                )}
              </td>
            </tr>
          ))}
        </Table>
      )}
      <LoadMore pages={pages} what="personal tokens" />
    </section>
  );
}

/** `/console/admin/inventory`: service-account drift, members' personal tokens, and a scan on demand. */
export function Inventory() {
  const { api, catalog } = useConsole();
  const drift = useLoad(() => api.get<DriftReport>('/inventory/drift'), [api]);
  // Not an admin: the API's refusal is shown once, not again for each section.
  const forbidden = drift.error?.status === 403;
  return (
    <>
      <PageTitle>Inventory</PageTitle>
      <Drift drift={drift} />
      {catalog.personalTokens && !forbidden && (
        <>
          <PersonalTokens />
          <RunScan />
        </>
      )}
    </>
  );
}
