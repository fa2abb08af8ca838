import { approvalCount, LoadMore, PageTitle, Status, Table, Time } from '../components/ui';
import { useConsole } from '../context';
import { usePages } from '../hooks';
import type { AccessException, Page } from '../types';

/** The member's access exceptions, newest first (admins see everyone's on *All exceptions*; here only their own). */
export function MyExceptions() {
  const { api, me, catalog } = useConsole();
  const pages = usePages(
    async (nextToken) => {
      const page = await api.get<Page<AccessException>>('/access-exceptions', { nextToken });
      return { ...page, items: page.items.filter((e) => e.member === me.email) };
    },
    [api, me.email],
  );
  return (
    <>
      <PageTitle>My exceptions</PageTitle>
      {catalog.exceptions ? (
        <>
          <p>
            An access exception lets you use personal API tokens for up to {catalog.exceptions.maxDays} days, once
            approved.
          </p>
          <p>
            <a href="/console/exceptions/new">Request an exception</a>
          </p>
        </>
      ) : (
        <p>Access exceptions are off in this deployment.</p>
      )}
      {pages.items.length > 0 ? (
        <Table label="My exceptions" head={['Requested', 'Days', 'Status', 'Starts', 'Ends', 'Approvals']}>
          {pages.items.map((e) => (
            <tr key={e.exceptionId}>
              <td>
                <a href={`/console/exceptions/${e.exceptionId}`}>
                  <Time iso={e.createdAt} />
                </a>
              </td>
              <td>{e.days}</td>
              <td>
                <Status value={e.status} />
              </td>
              <td>
                <Time iso={e.startsAt} />
              </td>
              <td>
                <Time iso={e.endedAt ?? e.endsAt} />
              </td>
              <td>{approvalCount(e.approvals, e.approvalsRequired)}</td>
            </tr>
          ))}
        </Table>
      ) : (
        !pages.loading && !pages.error && <p>You have not asked for an exception.</p>
      )}
      <LoadMore pages={pages} what="exceptions" />
    </>
  );
}
