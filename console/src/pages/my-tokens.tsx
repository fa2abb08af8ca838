import { LoadMore, PageTitle, Status, Table, Time } from '../components/ui';
import { useConsole } from '../context';
import { usePages } from '../hooks';
import type { Page, Token } from '../types';

/** *My tokens*: the signed-in person's tokens, with what needs their attention (expiry, rotation errors). */
export function MyTokens() {
  const { api, me } = useConsole();
  const pages = usePages(
    (nextToken) => api.get<Page<Token>>('/tokens', { owner: me.email, nextToken }),
    [api, me.email],
  );
  return (
    <>
      <PageTitle>My tokens</PageTitle>
      {pages.items.length > 0 ? (
        <Table
          label="My tokens"
          head={['Name', 'Service account', 'Status', 'Expires', 'Next rotation', 'Last rotation error']}
        >
          {pages.items.map((t) => (
            <tr key={t.tokenId}>
              <td>
                <a href={`/console/tokens/${t.tokenId}`}>{t.name}</a>
              </td>
              <td>{t.serviceAccount}</td>
              <td>
                <Status value={t.status} />
              </td>
              <td>
                <Time iso={t.expiresAt} />
              </td>
              <td>
                <Time iso={t.nextRotationAt} />
              </td>
              <td>
                {t.lastRotationError ? (
                  <>
                    <code>{t.lastRotationError.code}</code> {t.lastRotationError.message}
                  </>
                ) : (
                  <span class="muted">—</span>
                )}
              </td>
            </tr>
          ))}
        </Table>
      ) : (
        !pages.loading &&
        !pages.error && <p>You have no tokens yet. One is made when a request of yours is approved.</p>
      )}
      <LoadMore pages={pages} what="tokens" />
    </>
  );
}
