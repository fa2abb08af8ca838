import { approvalCount, LoadMore, PageTitle, Status, Table, Time } from '../components/ui';
import { useConsole } from '../context';
import { usePages } from '../hooks';
import type { Page, TokenRequest } from '../types';

/** *My requests*: the signed-in person's token requests, newest first. */
export function MyRequests() {
  const { api, me } = useConsole();
  const pages = usePages(
    (nextToken) => api.get<Page<TokenRequest>>('/token-requests', { requester: me.email, nextToken }),
    [api, me.email],
  );
  return (
    <>
      <PageTitle>My requests</PageTitle>
      {pages.items.length > 0 ? (
        <Table label="My requests" head={['Name', 'Service account', 'Status', 'Created', 'Approvals', 'Reason']}>
          {pages.items.map((r) => (
            <tr key={r.requestId}>
              <td>
                <a href={`/console/requests/${r.requestId}`}>{r.name}</a>
              </td>
              <td>{r.serviceAccount}</td>
              <td>
                <Status value={r.status} />
              </td>
              <td>
                <Time iso={r.createdAt} />
              </td>
              <td>{approvalCount(r.approvals, r.approvalsRequired)}</td>
              <td>{r.reason ?? (r.status === 'PENDING_APPROVAL' ? 'waiting; cancel it on its page' : '')}</td>
            </tr>
          ))}
        </Table>
      ) : (
        !pages.loading && !pages.error && <p>You have not requested a token yet.</p>
      )}
      <LoadMore pages={pages} what="requests" />
    </>
  );
}
