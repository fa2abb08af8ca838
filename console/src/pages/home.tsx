import { Loading, PageTitle } from '../components/ui';
import { useConsole } from '../context';
import { useLoad } from '../hooks';
import type { Page, PendingApproval } from '../types';

/** The start page: what waits for the signed-in person, and where to go. */
export function Home() {
  const { api, me } = useConsole();
  const pending = useLoad(() => api.get<Page<PendingApproval>>('/approvals', { status: 'pending' }), [api]);
  return (
    <>
      <PageTitle>Token Warden</PageTitle>
      <p>
        Ask for an Atlassian API token made for you, follow your requests and tokens
        {me.admin ? ', and govern every token in the organization' : ''}.
      </p>
      <ul class="cards">
        <li>
          <a href="/console/request">Request a token</a>
          <span class="muted">for a service account, with approval</span>
        </li>
        <li>
          <a href="/console/tokens">My tokens</a>
          <span class="muted">status, rotation, and how to use them</span>
        </li>
        <li>
          <a href="/console/approvals">Pending approvals</a>
          <span class="muted">
            {pending.loading ? (
              <Loading what="approvals" />
            ) : pending.data ? (
              `${pending.data.items.length}${pending.data.nextToken ? '+' : ''} waiting for you`
            ) : (
              'requests waiting for your decision'
            )}
          </span>
        </li>
      </ul>
    </>
  );
}
