import { LoadMore, Notice, PageTitle, Status, Table, Time } from '../components/ui';
import { useConsole } from '../context';
import { usePages } from '../hooks';
import type { AccessException, Page } from '../types';

/** `/console/admin/exceptions`: every access exception (admins see all; the API takes no filters), newest first. */
export function AllExceptions() {
  const { api, catalog, me } = useConsole();
  const pages = usePages((nextToken) => api.get<Page<AccessException>>('/access-exceptions', { nextToken }), [api]);
  return (
    <>
      <PageTitle>All exceptions</PageTitle>
      {!catalog.exceptions && <Notice>Access exceptions are off in the policy; past ones are still listed.</Notice>}
      {!me.admin && <Notice>Only admins see everyone's exceptions; the API lists your own here.</Notice>}
      {!pages.loading && !pages.error && pages.items.length === 0 && <p>There are no access exceptions yet.</p>}
      {pages.items.length > 0 && (
        <Table label="Access exceptions" head={['Member', 'Status', 'Days', 'Starts', 'Ends', 'Justification']}>
          {pages.items.map((e) => (
            <tr key={e.exceptionId}>
              <td>
                <a href={`/console/exceptions/${encodeURIComponent(e.exceptionId)}`}>{e.member}</a>
              </td>
              <td>
                <Status value={e.status} />
                {e.reason && <span class="muted"> {e.reason}</span>}
              </td>
              <td>{e.days}</td>
              <td>
                <Time iso={e.startsAt} />
              </td>
              <td>
                <Time iso={e.endedAt ?? e.endsAt} />
              </td>
              <td>{e.justification}</td>
            </tr>
          ))}
        </Table>
      )}
      <LoadMore pages={pages} what="exceptions" />
    </>
  );
}
