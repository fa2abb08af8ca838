import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { useRoute } from 'preact-iso';
import { Details, ErrorNotice, Loading, PageTitle, Status, Time } from '../components/ui';
import { useConsole } from '../context';
import { useAction, useLoad } from '../hooks';
import type { AccessException, ApprovalDecision, ApprovalSubject, DecisionAnswer, TokenRequest } from '../types';

function Approvals({ approvals, required }: { approvals: ApprovalDecision[]; required: number }) {
  const approved = approvals.filter((a) => a.decision === 'APPROVED').length;
  return (
    <>
      {approved} of {required} approval{required === 1 ? '' : 's'}
      {approvals.length > 0 && (
        <ul>
          {approvals.map((a) => (
            <li key={`${a.approver}-${a.decidedAt}`}>
              <Status value={a.decision} /> by {a.approver}, <Time iso={a.decidedAt} />
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

const list = (values: string[]) => (values.length > 0 ? values.join(', ') : <span class="muted">none</span>);

function RequestDetails({ request: r }: { request: TokenRequest }) {
  return (
    <Details
      rows={[
        ['Status', <Status key="s" value={r.status} />],
        ['Requester', r.requester],
        ['Service account', r.serviceAccount],
        ['Token name', r.name],
        ['Scopes', list(r.scopes)],
        ['Lifetime', `${r.lifetimeDays} day${r.lifetimeDays === 1 ? '' : 's'}`],
        ['Justification', r.justification],
        ['Consumers', list(r.consumers)],
        ['Requested', <Time key="t" iso={r.createdAt} />],
        ['Approvals so far', <Approvals key="a" approvals={r.approvals} required={r.approvalsRequired} />],
      ]}
    />
  );
}

function ExceptionDetails({ exception: e }: { exception: AccessException }) {
  return (
    <Details
      rows={[
        ['Status', <Status key="s" value={e.status} />],
        ['Member', e.member],
        ['Days', String(e.days)],
        ['Justification', e.justification],
        ['Requested', <Time key="t" iso={e.createdAt} />],
        ['Approvals so far', <Approvals key="a" approvals={e.approvals} required={e.approvalsRequired} />],
      ]}
    />
  );
}

/** What the decision did, in a sentence. */
function outcomeText(answer: DecisionAnswer): string {
  const what = answer.exception ? 'The access exception' : 'The token request';
  const yours = answer.decision === 'APPROVED' ? 'You approved.' : 'You rejected.';
  if (answer.outcome === 'PENDING') return `${yours} ${what} waits for more approvals.`;
  return `${yours} ${what} is now ${answer.outcome}.`;
}

/** `/console/approvals/<approvalId>`: what one approval decides on, with *Approve* and *Reject*. */
export function ApprovalReview() {
  const { api } = useConsole();
  const { approvalId = '' } = useRoute().params;
  const path = `/approvals/${encodeURIComponent(approvalId)}`;
  const subject = useLoad(() => api.get<ApprovalSubject>(`${path}/request`), [api, path]);
  const [answer, setAnswer] = useState<DecisionAnswer>();
  const decide = useAction((decision: 'approve' | 'reject') =>
    api.post<DecisionAnswer>(`${path}/decision`, { decision }),
  );
  const outcome = useRef<HTMLDivElement>(null);
  // A refusal that no retry changes (not allowed, not found, expired) ends the review like a decision does. A 409 may
  // be final (already decided) or not (another approver decided at the same moment: retry); the approval as re-read
  // after it tells which, since the buttons show only while it is still OPEN.
  const final = answer !== undefined || [403, 404, 410].includes(decide.error?.status ?? 0);
  useEffect(() => {
    if (final) outcome.current?.focus();
  }, [final]);

  const run = async (decision: 'approve' | 'reject') => {
    const result = await decide.act(decision);
    if (result) setAnswer(result);
    // The approval's own status and the decision recorded on it, as the API now has them (after a refusal too).
    subject.reload();
  };

  const data = subject.data;
  const request = answer?.request ?? data?.request;
  const exception = answer?.exception ?? data?.exception;
  const open = data?.status === 'OPEN' && !final;
  return (
    <>
      <PageTitle>Review approval</PageTitle>
      {subject.loading && !data && <Loading what="the approval" />}
      <ErrorNotice error={subject.error} />
      {data && (
        <>
          <h2>{request ? `Token request ${request.name}` : 'Access exception'}</h2>
          {request && <RequestDetails request={request} />}
          {exception && <ExceptionDetails exception={exception} />}
          <Details
            rows={[
              ['This approval', <Status key="s" value={data.status} />],
              ['Decide before', <Time key="t" iso={data.expiresAt} />],
              ...(data.decision
                ? ([
                    ['Your decision', <Status key="d" value={data.decision} />],
                    ['Decided', <Time key="w" iso={data.decidedAt} />],
                  ] as Array<[string, ComponentChildren]>)
                : []),
            ]}
          />
          {data.status !== 'OPEN' && !answer && <p>This approval can no longer decide.</p>}
          {open && (
            <div class="actions">
              <button type="button" disabled={decide.busy} onClick={() => void run('approve')}>
                Approve
              </button>
              <button type="button" class="danger" disabled={decide.busy} onClick={() => void run('reject')}>
                Reject
              </button>
            </div>
          )}
          {decide.busy && <Loading what="your decision" />}
        </>
      )}
      <div ref={outcome} tabIndex={-1}>
        {answer && (
          <div class="notice info" role="status">
            {outcomeText(answer)}
          </div>
        )}
        <ErrorNotice error={decide.error} />
      </div>
      <p>
        <a href="/console/approvals">Back to your approvals</a>
      </p>
    </>
  );
}
