import { type FilterField, Filters, useUrlFilters } from '../components/filters';
import { LoadMore, Notice, PageTitle, Status, Table, Time } from '../components/ui';
import { useConsole } from '../context';
import { usePages } from '../hooks';
import type { Page, Token } from '../types';

export const TOKEN_STATUSES = ['ACTIVE', 'ROTATING', 'REVOKED', 'EXPIRED'] as const;

/** `/console/admin/tokens`: every token (admins), filtered by status, service account and owner in the URL. */
export function AllTokens() {
  const { api, catalog, me } = useConsole();
  const fields: FilterField[] = [
    { name: 'status', label: 'Status', options: TOKEN_STATUSES },
    { name: 'serviceAccount', label: 'Service account', options: catalog.serviceAccounts.map((s) => s.alias) },
    { name: 'owner', label: 'Owner', email: true },
  ];
  const filters = useUrlFilters(fields);
  const pages = usePages(
    (nextToken) => api.get<Page<Token>>('/tokens', { ...filters.values, nextToken }),
    [api, filters.key],
  );
  const filtered = Object.values(filters.values).some(Boolean);
  return (
    <>
      <PageTitle>All tokens</PageTitle>
      {!me.admin && <Notice>Only admins see everyone's tokens; the API lists your own here.</Notice>}
      <Filters label="Filter tokens" fields={fields} filters={filters} error={pages.error} />
      {!pages.loading && !pages.error && pages.items.length === 0 && (
        <p>{filtered ? 'No token matches these filters.' : 'There are no tokens yet.'}</p>
      )}
      {pages.items.length > 0 && (
        <Table label="Tokens" head={['Name', 'Service account', 'Owner', 'Status', 'Expires', 'Next rotation']}>
          {pages.items.map((t) => (
            <tr key={t.tokenId}>
              <td>
                <a href={`/console/tokens/${encodeURIComponent(t.tokenId)}`}>{t.name}</a>
              </td>
              <td>{t.serviceAccount}</td>
              <td>{t.owner}</td>
              <td>
                <Status value={t.status} />
              </td>
              <td>
                <Time iso={t.expiresAt} />
              </td>
              <td>
                <Time iso={t.nextRotationAt} />
              </td>
            </tr>
          ))}
        </Table>
      )}
      <LoadMore pages={pages} what="tokens" />
    </>
  );
}
