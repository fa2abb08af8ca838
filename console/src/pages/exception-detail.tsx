import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { useRoute } from 'preact-iso';
import { Approvals, Details, ErrorNotice, Loading, Notice, PageTitle, Status, Time } from '../components/ui';
import { useConsole } from '../context';
import { useAction, useLoad, usePoll } from '../hooks';
import type { AccessException } from '../types';

/** Statuses that change on the server without the member: keep the page current while in one. */
const MOVING = ['PENDING_APPROVAL', 'APPROVED'];

/** One access exception: its state and approvals; *Cancel* while it waits, *End now* while it runs. */
export function ExceptionDetail() {
  const { api } = useConsole();
  const { exceptionId } = useRoute().params as { exceptionId: string };
  const path = `/access-exceptions/${encodeURIComponent(exceptionId)}`;
  const load = useLoad(() => api.get<AccessException>(path), [api, path]);
  const action = useAction(async (what: 'cancel' | 'end') => {
    await api.post<AccessException>(`${path}/${what}`);
    return true;
  });
  const e = load.data;
  // Ending is asynchronous (202): keep reading until the exception is no longer ACTIVE.
  const [ending, setEnding] = useState(false);
  const stillEnding = ending && e?.status === 'ACTIVE';
  usePoll(load.reload, e !== undefined && (MOVING.includes(e.status) || stillEnding));

  if (!e) {
    return (
      <>
        <PageTitle>Access exception</PageTitle>
        {load.loading ? <Loading what="the exception" /> : <ErrorNotice error={load.error} />}
      </>
    );
  }
  const run = async (what: 'cancel' | 'end') => {
    if (!(await action.act(what))) return;
    if (what === 'end') setEnding(true);
    load.reload();
  };
  const rows: Array<[string, ComponentChildren]> = [
    ['Status', <Status key="s" value={e.status} />],
    ['Member', e.member],
    ['Days', e.days],
    ['Justification', e.justification],
    ['Requested', <Time key="c" iso={e.createdAt} />],
    ['Starts', <Time key="b" iso={e.startsAt} />],
    ['Ends', <Time key="e" iso={e.endsAt} />],
  ];
  if (e.endedAt) rows.push(['Ended', <Time key="d" iso={e.endedAt} />]);
  if (e.reason) rows.push(['Reason', <code key="r">{e.reason}</code>]);
  rows.push(['Exception id', <code key="i">{e.exceptionId}</code>]);
  return (
    <>
      <PageTitle>Access exception</PageTitle>
      <ErrorNotice error={action.error} />
      <Details rows={rows} />
      {e.status === 'PENDING_APPROVAL' && (
        <div class="actions">
          <button type="button" class="danger" disabled={action.busy} onClick={() => run('cancel')}>
            Cancel
          </button>
        </div>
      )}
      {stillEnding && <Notice>Ending: you are being moved back; personal API tokens stop working.</Notice>}
      {e.status === 'ACTIVE' && !stillEnding && (
        <div class="actions">
          <button type="button" class="danger" disabled={action.busy} onClick={() => run('end')}>
            End now
          </button>
        </div>
      )}
      <Approvals approvals={e.approvals} required={e.approvalsRequired} />
    </>
  );
}
