import type { ComponentChildren } from 'preact';
import { useRoute } from 'preact-iso';
import { Approvals, Details, ErrorNotice, Loading, PageTitle, Status, Time } from '../components/ui';
import { useConsole } from '../context';
import { useAction, useLoad, usePoll } from '../hooks';
import type { TokenRequest } from '../types';

const FINAL = ['ISSUED', 'REJECTED', 'EXPIRED', 'FAILED'];

/** One token request: everything the API says about it, its approvals, and *Cancel request* while it waits. */
export function RequestDetail() {
  const { api } = useConsole();
  const { requestId } = useRoute().params as { requestId: string };
  const path = `/token-requests/${encodeURIComponent(requestId)}`;
  const load = useLoad(() => api.get<TokenRequest>(path), [api, path]);
  const cancel = useAction(async () => {
    await api.post<TokenRequest>(`${path}/cancel`);
    return true;
  });
  const r = load.data;
  // Approval and issuance happen elsewhere: keep the page current until the request is final.
  usePoll(load.reload, r !== undefined && !FINAL.includes(r.status));

  if (!r) {
    return (
      <>
        <PageTitle>Token request</PageTitle>
        {load.loading ? <Loading what="the request" /> : <ErrorNotice error={load.error} />}
      </>
    );
  }
  const rows: Array<[string, ComponentChildren]> = [['Status', <Status key="s" value={r.status} />]];
  if (r.reason) rows.push(['Reason', <code key="r">{r.reason}</code>]);
  rows.push(
    ['Service account', r.serviceAccount],
    ['Token name', r.name],
    ['Scopes', r.scopes.join(', ')],
    ['Lifetime (days)', r.lifetimeDays],
    ['Justification', r.justification],
    ['Consumers', r.consumers.length > 0 ? r.consumers.join(', ') : <span class="muted">none</span>],
    ['Requester', r.requester],
    ['Created', <Time key="c" iso={r.createdAt} />],
    ['Request id', <code key="i">{r.requestId}</code>],
  );
  return (
    <>
      <PageTitle>{`Token request ${r.name}`}</PageTitle>
      <ErrorNotice error={cancel.error} />
      <Details rows={rows} />
      {r.status === 'PENDING_APPROVAL' && (
        <div class="actions">
          <button
            type="button"
            class="danger"
            disabled={cancel.busy}
            onClick={async () => {
              if (await cancel.act()) load.reload();
            }}
          >
            Cancel request
          </button>
        </div>
      )}
      {r.status === 'ISSUED' && (
        <>
          <h2>Token</h2>
          <Details
            rows={[
              ['Secret name', <code key="n">{r.secretName}</code>],
              ['Secret ARN', <code key="a">{r.secretArn}</code>],
              ['Expires', <Time key="e" iso={r.expiresAt} />],
            ]}
          />
          {r.tokenId && <a href={`/console/tokens/${r.tokenId}`}>Open the token {r.name}</a>}
        </>
      )}
      <Approvals approvals={r.approvals} required={r.approvalsRequired} />
    </>
  );
}
