import { useEffect, useRef, useState } from 'preact/hooks';
import { ConfirmRevoke } from '../components/confirm-revoke';
import { ErrorNotice, Loading, Notice, Time } from '../components/ui';
import { useConsole } from '../context';
import { useLoad } from '../hooks';
import type { AuditRecord, Token } from '../types';

/** The facts of one audit record, as `key: value` text. */
function AuditDetails({ details }: { details?: AuditRecord['details'] }) {
  const entries = Object.entries(details ?? {});
  if (entries.length === 0) return null;
  return (
    <ul class="audit-details">
      {entries.map(([key, value]) => (
        <li key={key}>
          <span class="muted">{key}:</span> {Array.isArray(value) ? value.join(', ') : String(value)}
        </li>
      ))}
    </ul>
  );
}

/** The token's audit trail, oldest first. */
function AuditTimeline({ tokenId, round }: { tokenId: string; round: number }) {
  const { api } = useConsole();
  const audit = useLoad(() => api.get<{ items: AuditRecord[] }>('/audit', { tokenId }), [api, tokenId, round]);
  return (
    <section aria-labelledby="audit-heading">
      <h2 id="audit-heading">Audit timeline</h2>
      {audit.loading && !audit.data && <Loading what="the audit trail" />}
      <ErrorNotice error={audit.error} />
      {audit.data &&
        (audit.data.items.length === 0 ? (
          <p>No audit records yet.</p>
        ) : (
          <ol class="timeline">
            {audit.data.items.map((record, i) => (
              <li key={`${record.at}-${record.event}-${i}`}>
                <Time iso={record.at} /> <strong>{record.event}</strong> <span class="muted">by</span> {record.actor}
                <AuditDetails details={record.details} />
              </li>
            ))}
          </ol>
        ))}
    </section>
  );
}

/** *Revoke*, with a confirmation step that asks for the reason. */
function RevokeToken({ token, onRevoked }: { token: Token; onRevoked: () => void }) {
  const { api } = useConsole();
  const [confirming, setConfirming] = useState(false);
  const [done, setDone] = useState(false);
  const revokeButton = useRef<HTMLButtonElement>(null);
  const wasConfirming = useRef(false);
  useEffect(() => {
    if (!confirming && wasConfirming.current) revokeButton.current?.focus();
    wasConfirming.current = confirming;
  }, [confirming]);

  if (done) return <Notice>The token is revoked.</Notice>;
  if (token.status === 'REVOKED' || token.status === 'EXPIRED') return null;
  return (
    <section aria-labelledby="revoke-heading">
      <h2 id="revoke-heading">Revoke this token</h2>
      {!confirming ? (
        <>
          <p>Revoking closes the secret and revokes every generation at Atlassian; it cannot be undone.</p>
          <div class="actions">
            <button ref={revokeButton} type="button" class="danger" onClick={() => setConfirming(true)}>
              Revoke
            </button>
          </div>
        </>
      ) : (
        <ConfirmRevoke
          label="Confirm revoking the token"
          idPrefix="revoke"
          question={
            <>
              Revoke <strong>{token.name}</strong> of {token.owner}? Its consumers stop working at once.
            </>
          }
          revoke={(why) =>
            api.post<Token>(`/tokens/${encodeURIComponent(token.tokenId)}/revoke`, why ? { reason: why } : {})
          }
          onDone={() => {
            setDone(true);
            onRevoked();
          }}
          onKeep={() => setConfirming(false)}
        />
      )}
    </section>
  );
}

/** The admin's part of the token page: revoke with a reason, and the token's audit timeline. Nothing for others. */
export function AdminTokenPanel({ token, onChange }: { token: Token; onChange: () => void }) {
  const { me } = useConsole();
  const [round, setRound] = useState(0);
  if (!me.admin) return null;
  return (
    <div class="admin-panel">
      <RevokeToken
        token={token}
        onRevoked={() => {
          setRound((r) => r + 1);
          onChange();
        }}
      />
      <AuditTimeline tokenId={token.tokenId} round={round} />
    </div>
  );
}
