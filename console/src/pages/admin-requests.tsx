import { type FilterField, Filters, useUrlFilters } from '../components/filters';
import { LoadMore, Notice, PageTitle, Status, Table, Time } from '../components/ui';
import { useConsole } from '../context';
import { usePages } from '../hooks';
import type { Page, TokenRequest } from '../types';

export const REQUEST_STATUSES = ['PENDING_APPROVAL', 'APPROVED', 'ISSUED', 'REJECTED', 'EXPIRED', 'FAILED'] as const;

/** `/console/admin/requests`: every token request (admins), filtered by status, service account and requester. */
export function AllRequests() {
  const { api, catalog, me } = useConsole();
  const fields: FilterField[] = [
    { name: 'status', label: 'Status', options: REQUEST_STATUSES },
    { name: 'serviceAccount', label: 'Service account', options: catalog.serviceAccounts.map((s) => s.alias) },
    { name: 'requester', label: 'Requester', email: true },
  ];
  const filters = useUrlFilters(fields);
  const pages = usePages(
    (nextToken) => api.get<Page<TokenRequest>>('/token-requests', { ...filters.values, nextToken }),
    [api, filters.key],
  );
  const filtered = Object.values(filters.values).some(Boolean);
  return (
    <>
      <PageTitle>All requests</PageTitle>
      {!me.admin && <Notice>Only admins see everyone's requests; the API lists your own here.</Notice>}
      <Filters label="Filter requests" fields={fields} filters={filters} error={pages.error} />
      {!pages.loading && !pages.error && pages.items.length === 0 && (
        <p>{filtered ? 'No request matches these filters.' : 'There are no requests yet.'}</p>
      )}
      {pages.items.length > 0 && (
        <Table label="Requests" head={['Name', 'Service account', 'Requester', 'Status', 'Approvals', 'Requested']}>
          {pages.items.map((r) => (
            <tr key={r.requestId}>
              <td>
                <a href={`/console/requests/${encodeURIComponent(r.requestId)}`}>{r.name}</a>
              </td>
              <td>{r.serviceAccount}</td>
              <td>{r.requester}</td>
              <td>
                <Status value={r.status} />
                {r.reason && <span class="muted"> {r.reason}</span>}
              </td>
              <td>
                {r.approvals.filter((a) => a.decision === 'APPROVED').length} of {r.approvalsRequired}
              </td>
              <td>
                <Time iso={r.createdAt} />
              </td>
            </tr>
          ))}
        </Table>
      )}
      <LoadMore pages={pages} what="requests" />
    </>
  );
}
