import { useState } from 'preact/hooks';
import { LoadMore, PageTitle, Status, Table, Time } from '../components/ui';
import { useConsole } from '../context';
import { usePages } from '../hooks';
import type { Page, PersonalToken } from '../types';

const MODES = {
  report: 'Token Warden lists your personal API tokens and flags the risky ones; it does not act on them.',
  notify: 'Token Warden lists your personal API tokens, flags the risky ones, and tells you about them once.',
  revoke: 'Token Warden lists your personal API tokens, and revokes a flagged one at the time shown below.',
};

/** *My personal tokens*: the signed-in member's own Atlassian API tokens as the last scan saw them, and the way out. */
export function MyPersonalTokens() {
  const { api, catalog } = useConsole();
  const governed = catalog.personalTokens;
  const [scannedAt, setScannedAt] = useState<string | undefined>();
  const pages = usePages(
    async (nextToken) => {
      if (!governed) return { items: [] };
      const page = await api.get<Page<PersonalToken> & { scannedAt?: string }>('/me/personal-tokens', { nextToken });
      setScannedAt(page.scannedAt);
      return page;
    },
    [api, governed],
  );

  if (!governed) {
    return (
      <>
        <PageTitle>My personal tokens</PageTitle>
        <p>Personal-token governance is off in this deployment: Token Warden does not look at personal tokens.</p>
      </>
    );
  }
  return (
    <>
      <PageTitle>My personal tokens</PageTitle>
      <p>{MODES[governed.mode]}</p>
      <p>
        The way out: <a href="/console/request">Request a governed token</a> for a service account instead
        {catalog.exceptions ? (
          <>
            , or <a href="/console/exceptions/new">Request an exception</a> to keep using personal tokens for a few days
          </>
        ) : null}
        .
      </p>
      <p class="muted">
        As of the last complete scan: <Time iso={scannedAt} />
      </p>
      {pages.items.length > 0 ? (
        <Table
          label="My personal tokens"
          head={['Label', 'Created', 'Last active', 'Expires', 'Flags', 'State', 'Revocation']}
        >
          {pages.items.map((t) => (
            <tr key={t.atlassianTokenId}>
              <td>{t.label}</td>
              <td>
                <Time iso={t.createdAt} />
              </td>
              <td>
                <Time iso={t.lastActiveAt} />
              </td>
              <td>
                <Time iso={t.expiresAt} />
              </td>
              <td>{t.flags.length > 0 ? t.flags.join(', ') : <span class="muted">none</span>}</td>
              <td>
                <Status value={t.state} />
              </td>
              <td>
                {t.revokedAt ? (
                  <>
                    Revoked <Time iso={t.revokedAt} />
                  </>
                ) : t.revokeAt ? (
                  <>
                    Due <Time iso={t.revokeAt} />
                  </>
                ) : (
                  <span class="muted">—</span>
                )}
              </td>
            </tr>
          ))}
        </Table>
      ) : (
        !pages.loading && !pages.error && <p>No personal tokens of yours were found.</p>
      )}
      <LoadMore pages={pages} what="personal tokens" />
    </>
  );
}
