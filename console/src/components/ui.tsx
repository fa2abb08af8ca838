import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import type { ApiError } from '../api';
import type { Pages } from '../hooks';
import type { ApprovalDecision } from '../types';

/** The page's heading; also the document title, and where focus goes when the page opens (for screen readers). */
export function PageTitle({ children }: { children: string }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${children} · Token Warden`;
    heading.current?.focus();
  }, [children]);
  return (
    <h1 ref={heading} tabIndex={-1}>
      {children}
    </h1>
  );
}

/** An API error as a message the person can act on; 404 says plainly that nothing is there for them. */
export function ErrorNotice({ error }: { error?: ApiError }) {
  if (!error) return null;
  const text =
    error.status === 404
      ? `Not found: ${error.message}. It does not exist, or it is not yours to see.`
      : error.status === 403
        ? `Not allowed: ${error.message}`
        : error.message;
  return (
    <div class="notice error" role="alert">
      <strong>{error.code}</strong> {text}
    </div>
  );
}

/** A success or information message, announced politely. */
export function Notice({ children }: { children: ComponentChildren }) {
  return (
    <div class="notice info" role="status">
      {children}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

/** A status exactly as the API spells it. */
export function Status({ value }: { value: string }) {
  return <span class={`status status-${value.toLowerCase().replace(/_/g, '-')}`}>{value}</span>;
}

/** An ISO time, shown in the reader's locale, with the exact value in `datetime` and the tooltip. */
export function Time({ iso }: { iso?: string }) {
  if (!iso) return <span class="muted">—</span>;
  const date = new Date(iso);
  const shown = Number.isNaN(date.getTime())
    ? iso
    : `${date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' })} UTC`;
  return (
    <time dateTime={iso} title={iso}>
      {shown}
    </time>
  );
}

/** Label/value rows. */
export function Details({ rows }: { rows: Array<[string, ComponentChildren]> }) {
  return (
    <dl class="details">
      {rows.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** The API's error for one form field, tied to the field with `aria-describedby` by its id. */
export function FieldError({ id, error, field }: { id: string; error?: ApiError; field: string }) {
  if (!error || error.field !== field) return null;
  return (
    <p id={id} class="field-error">
      {error.message}
    </p>
  );
}

/** The ARIA attributes of a form control: invalid when the API's error names `field`, described by hint and error. */
export function fieldAria(error: ApiError | undefined, field: string, hintId?: string) {
  const invalid = error?.field === field;
  const describedBy = [hintId, invalid ? `${field}-error` : undefined].filter(Boolean).join(' ');
  return { 'aria-invalid': invalid ? ('true' as const) : undefined, 'aria-describedby': describedBy || undefined };
}

/**
 * A table that scrolls sideways on a narrow screen instead of breaking the layout; the scrolling region is
 * focusable, so it can be scrolled with the keyboard.
 */
export function Table({ label, head, children }: { label: string; head: string[]; children: ComponentChildren }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard (WCAG 2.1.1)
    <section class="table-wrap" aria-label={label} tabIndex={0}>
      <table aria-label={label}>
        <thead>
          <tr>
            {head.map((h) => (
              <th key={h} scope="col">
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </section>
  );
}

/** The state of a paged list below its table: its error, loading, or a *Load more* button while there is more. */
export function LoadMore<T>({ pages, what }: { pages: Pages<T>; what: string }) {
  return (
    <>
      <ErrorNotice error={pages.error} />
      {pages.loading ? (
        <Loading what={what} />
      ) : (
        pages.more && (
          <div class="actions">
            <button type="button" class="secondary" onClick={pages.more}>
              Load more
            </button>
          </div>
        )
      )}
    </>
  );
}

/** "n of m": the approvals a request or exception has, of those it needs. */
export function approvalCount(approvals: ApprovalDecision[], required: number): string {
  return `${approvals.filter((a) => a.decision === 'APPROVED').length} of ${required}`;
}

/** The decisions so far: who decided what, and when. */
export function Approvals({ approvals, required }: { approvals: ApprovalDecision[]; required: number }) {
  return (
    <>
      <h2>Approvals ({approvalCount(approvals, required)})</h2>
      {approvals.length === 0 ? (
        <p class="muted">No decision yet.</p>
      ) : (
        <Table label="Approvals" head={['Approver', 'Decision', 'When']}>
          {approvals.map((a) => (
            <tr key={a.approver}>
              <td>{a.approver}</td>
              <td>
                <Status value={a.decision} />
              </td>
              <td>
                <Time iso={a.decidedAt} />
              </td>
            </tr>
          ))}
        </Table>
      )}
    </>
  );
}
