import { LoadMore, PageTitle, Table, Time } from '../components/ui';
import { useConsole } from '../context';
import { usePages } from '../hooks';
import type { Page, PendingApproval } from '../types';

/** What one approval decides on, in a few words: the token request or the access exception. */
function What({ item }: { item: PendingApproval }) {
  if (item.request) {
    const r = item.request;
    return (
      <>
        <strong>Token request</strong> {r.name}
        <br />
        <span class="muted">
          by {r.requester} for {r.serviceAccount}
        </span>
        <br />
        <span class="muted">scopes: {r.scopes.join(', ')}</span>
      </>
    );
  }
  if (item.exception) {
    const e = item.exception;
    return (
      <>
        <strong>Access exception</strong> for {e.member}
        <br />
        <span class="muted">
          {e.days} day{e.days === 1 ? '' : 's'} of personal-token use
        </span>
      </>
    );
  }
  return <span class="muted">—</span>;
}

const reviewLabel = (item: PendingApproval) =>
  item.request
    ? `Review token request ${item.request.name} by ${item.request.requester}`
    : item.exception
      ? `Review access exception for ${item.exception.member}`
      : 'Review';

/** `/console/approvals`: the signed-in person's approvals that can still decide, each opening its review. */
export function PendingApprovals() {
  const { api } = useConsole();
  const pages = usePages(
    (nextToken) => api.get<Page<PendingApproval>>('/approvals', { status: 'pending', nextToken }),
    [api],
  );
  const empty = !pages.loading && !pages.error && pages.items.length === 0;
  return (
    <>
      <PageTitle>Pending approvals</PageTitle>
      <p>Token requests and access exceptions waiting for your decision, newest first.</p>
      {empty && <p>Nothing is waiting for your decision.</p>}
      {pages.items.length > 0 && (
        <Table label="Pending approvals" head={['What', 'Expires', 'Decision']}>
          {pages.items.map((item) => (
            <tr key={item.approvalId}>
              <td>
                <What item={item} />
              </td>
              <td>
                <Time iso={item.expiresAt} />
              </td>
              <td>
                <a href={`/console/approvals/${encodeURIComponent(item.approvalId)}`} aria-label={reviewLabel(item)}>
                  Review
                </a>
              </td>
            </tr>
          ))}
        </Table>
      )}
      <LoadMore pages={pages} what="approvals" />
    </>
  );
}
