import { useState } from 'preact/hooks';
import { useRoute } from 'preact-iso';
import { Details, ErrorNotice, Loading, Notice, PageTitle, Status, Time } from '../components/ui';
import { useConsole } from '../context';
import { useAction, useLoad, usePoll } from '../hooks';
import type { Token } from '../types';
import { AdminTokenPanel } from './admin-token-panel';

/** The AWS CLI line that prints the token: what any CI other than Jenkins runs. */
const cliLine = (secretName: string) =>
  `aws secretsmanager get-secret-value --secret-id ${secretName} --query SecretString --output text`;

/** One token: its state and rotation, *Rotate now*, and how CI reads it. */
export function TokenPage() {
  const { api } = useConsole();
  const { tokenId } = useRoute().params as { tokenId: string };
  const path = `/tokens/${encodeURIComponent(tokenId)}`;
  const load = useLoad(() => api.get<Token>(path), [api, path]);
  // Resolves `true` once the API took the call (the body does not matter).
  const rotate = useAction(async () => {
    await api.post<unknown>(`${path}/rotate`);
    return true;
  });
  const t = load.data;
  usePoll(load.reload, t?.status === 'ROTATING');
  const live = t?.status === 'ACTIVE' || t?.status === 'ROTATING';

  if (!t) {
    return (
      <>
        <PageTitle>Token</PageTitle>
        {load.loading ? <Loading what="the token" /> : <ErrorNotice error={load.error} />}
      </>
    );
  }
  const error = t.lastRotationError;
  return (
    <>
      <PageTitle>{`Token ${t.name}`}</PageTitle>
      <ErrorNotice error={rotate.error} />
      <Details
        rows={[
          ['Status', <Status key="s" value={t.status} />],
          ['Service account', t.serviceAccount],
          ['Scopes', t.scopes.join(', ')],
          ['Owner', t.owner],
          ['Expires', <Time key="e" iso={t.expiresAt} />],
          ['Generation', t.generation],
          ['Next rotation', <Time key="n" iso={t.nextRotationAt} />],
          ['Last rotation', <Time key="l" iso={t.lastRotatedAt} />],
          [
            'Last rotation error',
            error ? (
              <>
                <code>{error.code}</code> {error.message} (<Time iso={error.at} />)
              </>
            ) : (
              <span class="muted">none</span>
            ),
          ],
          ['Created', <Time key="c" iso={t.createdAt} />],
          [
            'Request',
            <a key="r" href={`/console/requests/${t.requestId}`}>
              {t.requestId}
            </a>,
          ],
        ]}
      />
      {live ? (
        <>
          <div class="actions">
            <button
              type="button"
              disabled={t.status !== 'ACTIVE' || rotate.busy}
              onClick={async () => {
                if (await rotate.act()) load.reload();
              }}
            >
              Rotate now
            </button>
          </div>
          <h2>How to use it</h2>
          <Details
            rows={[
              ['Jenkins credential id', <code key="j">{t.secretName}</code>],
              ['Secret name', <code key="s">{t.secretName}</code>],
              ['Secret ARN', <code key="a">{t.secretArn}</code>],
            ]}
          />
          <p>
            In Jenkins (AWS Secrets Manager Credentials Provider plugin) it is a username-with-password credential: the
            username is the service account's email, the password is the token. Any other CI reads it with:
          </p>
          <CopyLine text={cliLine(t.secretName)} />
        </>
      ) : (
        <p>This token is {t.status}: nothing reads it any more, and it is not rotated.</p>
      )}
      <AdminTokenPanel token={t} onChange={load.reload} />
    </>
  );
}

/** A command in a code block, with *Copy*. */
function CopyLine({ text }: { text: string }) {
  const [copied, setCopied] = useState<'yes' | 'no' | undefined>();
  const copy = () =>
    navigator.clipboard.writeText(text).then(
      () => setCopied('yes'),
      () => setCopied('no'),
    );
  return (
    <>
      <pre>
        <code>{text}</code>
      </pre>
      <div class="actions">
        <button type="button" class="secondary" onClick={copy}>
          Copy
        </button>
      </div>
      {copied === 'yes' && <Notice>Copied to the clipboard.</Notice>}
      {copied === 'no' && <Notice>The browser did not allow copying: select the line and copy it.</Notice>}
    </>
  );
}
