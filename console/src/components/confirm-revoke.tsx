import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { useAction } from '../hooks';
import { ErrorNotice, FieldError, fieldAria } from './ui';

/** The API's limit on a revoke's reason. */
export const REASON_MAX = 500;

/**
 * The confirmation step of a revoke: the question, an optional *Reason* (kept in the audit trail), *Confirm revoke*
 * and *Keep token*. The API's error on `reason` shows next to the field, any other above the buttons.
 */
export function ConfirmRevoke<T>(props: {
  /** The form's accessible name. */
  label: string;
  /** Makes the ids of the field and its hint unique on the page. */
  idPrefix: string;
  question: ComponentChildren;
  revoke: (reason: string) => Promise<T>;
  onDone: (answer: T) => void;
  onKeep: () => void;
}) {
  const [reason, setReason] = useState('');
  const revoke = useAction(props.revoke);
  const field = useRef<HTMLTextAreaElement>(null);
  useEffect(() => field.current?.focus(), []);
  const submit = async (event: Event) => {
    event.preventDefault();
    const answer = await revoke.act(reason.trim());
    if (answer !== undefined) props.onDone(answer);
  };
  const hint = `${props.idPrefix}-reason-hint`;
  return (
    <form class="confirm" aria-label={props.label} onSubmit={submit}>
      <p>{props.question}</p>
      <div class="field">
        <label for={`${props.idPrefix}-reason`}>Reason</label>
        <textarea
          ref={field}
          id={`${props.idPrefix}-reason`}
          name="reason"
          maxLength={REASON_MAX}
          value={reason}
          onInput={(e) => setReason((e.currentTarget as HTMLTextAreaElement).value)}
          {...fieldAria(revoke.error, 'reason', hint)}
        />
        <p id={hint} class="hint">
          Optional: one line, at most {REASON_MAX} characters, kept in the audit trail.
        </p>
        <FieldError id="reason-error" error={revoke.error} field="reason" />
      </div>
      {revoke.error?.field !== 'reason' && <ErrorNotice error={revoke.error} />}
      <div class="actions">
        <button type="submit" class="danger" disabled={revoke.busy}>
          Confirm revoke
        </button>
        <button type="button" class="secondary" disabled={revoke.busy} onClick={props.onKeep}>
          Keep token
        </button>
      </div>
    </form>
  );
}
