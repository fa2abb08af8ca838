import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { ErrorNotice, FieldError, fieldAria, PageTitle } from '../components/ui';
import { useConsole } from '../context';
import { useAction, useIdempotencyKeys } from '../hooks';
import type { AccessException } from '../types';

/**
 * *Request an exception*: personal API tokens allowed for some days, once approved. One `Idempotency-Key` per body,
 * so pressing the button twice asks once.
 */
export function RequestException() {
  const { api, catalog } = useConsole();
  const { route } = useLocation();
  const maxDays = catalog.exceptions?.maxDays;
  const [days, setDays] = useState(String(Math.min(7, maxDays ?? 7)));
  const [justification, setJustification] = useState('');
  const keyFor = useIdempotencyKeys();
  const submit = useAction(async () => {
    const body = { days: Number(days), justification };
    const created = await api.post<AccessException>('/access-exceptions', body, { 'Idempotency-Key': keyFor(body) });
    route(`/console/exceptions/${created.exceptionId}`);
  });
  const error = submit.error;
  const topError = error && error.field !== 'days' && error.field !== 'justification' ? error : undefined;

  if (maxDays === undefined) {
    return (
      <>
        <PageTitle>Request an exception</PageTitle>
        <p>
          Access exceptions are off in this deployment. <a href="/console/request">Request a governed token</a> for a
          service account instead.
        </p>
      </>
    );
  }
  return (
    <>
      <PageTitle>Request an exception</PageTitle>
      <p>
        Once approved, you may create and use personal API tokens for the days you ask for; then you are moved back and
        personal tokens stop working again.
      </p>
      <ErrorNotice error={topError} />
      <form
        aria-label="Request an exception"
        onSubmit={(event) => {
          event.preventDefault();
          if (!submit.busy) void submit.act();
        }}
      >
        <div class="field">
          <label for="days">Days</label>
          <input
            id="days"
            type="number"
            required
            min={1}
            max={maxDays}
            step={1}
            value={days}
            onInput={(e) => setDays(e.currentTarget.value)}
            {...fieldAria(error, 'days', 'days-hint')}
          />
          <p id="days-hint" class="hint">
            From 1 to {maxDays} days.
          </p>
          <FieldError id="days-error" error={error} field="days" />
        </div>
        <div class="field">
          <label for="justification">Justification</label>
          <textarea
            id="justification"
            required
            minLength={10}
            maxLength={1000}
            value={justification}
            onInput={(e) => setJustification(e.currentTarget.value)}
            {...fieldAria(error, 'justification', 'justification-hint')}
          />
          <p id="justification-hint" class="hint">
            Why a governed token does not do, in 10 to 1000 characters; the approvers read it. One line.
          </p>
          <FieldError id="justification-error" error={error} field="justification" />
        </div>
        <div class="actions">
          <button type="submit" disabled={submit.busy}>
            Request exception
          </button>
        </div>
      </form>
    </>
  );
}
