import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { ErrorNotice, FieldError, fieldAria, Notice, PageTitle } from '../components/ui';
import { useConsole } from '../context';
import { useAction, useIdempotencyKeys } from '../hooks';
import type { CatalogEntry, TokenRequest } from '../types';

/** The fields of the form, as the API names them in `error.field`. */
const FIELDS = ['serviceAccount', 'name', 'scopes', 'lifetimeDays', 'justification', 'consumers'];

/** Checks or unchecks `item` in a list of checked items. */
const toggle = (list: string[], item: string, on: boolean) => (on ? [...list, item] : list.filter((i) => i !== item));

/**
 * *Request a token*: the catalog's service accounts, then only what the chosen one allows. One `Idempotency-Key` per
 * body, so a second press of the button answers the same request instead of making another, and an edited form
 * after an error asks afresh.
 */
export function RequestToken() {
  const { api, catalog } = useConsole();
  const { route } = useLocation();
  const accounts = catalog.serviceAccounts;
  const [alias, setAlias] = useState(accounts[0]?.alias ?? '');
  const account = accounts.find((a) => a.alias === alias);
  const [scopes, setScopes] = useState<string[]>([]);
  const [consumers, setConsumers] = useState<string[]>(accounts[0]?.defaultConsumers ?? []);
  const [name, setName] = useState('');
  const [lifetime, setLifetime] = useState(String(accounts[0]?.maxLifetimeDays ?? ''));
  const [justification, setJustification] = useState('');
  const keyFor = useIdempotencyKeys();
  const submit = useAction(async (entry: CatalogEntry) => {
    const body = {
      serviceAccount: entry.alias,
      name,
      scopes: entry.allowedScopes.filter((s) => scopes.includes(s)),
      lifetimeDays: Number(lifetime),
      justification,
      ...(entry.allowedConsumers.length > 0
        ? { consumers: entry.allowedConsumers.filter((c) => consumers.includes(c)) }
        : {}),
    };
    const created = await api.post<TokenRequest>('/token-requests', body, { 'Idempotency-Key': keyFor(body) });
    route(`/console/requests/${created.requestId}`);
  });
  const error = submit.error;
  const topError = error && !FIELDS.includes(error.field ?? '') ? error : undefined;

  const choose = (next: string) => {
    const entry = accounts.find((a) => a.alias === next);
    setAlias(next);
    setScopes([]);
    setConsumers(entry?.defaultConsumers ?? []);
    setLifetime(String(entry?.maxLifetimeDays ?? ''));
  };

  if (!account) {
    return (
      <>
        <PageTitle>Request a token</PageTitle>
        <p>The policy has no service accounts yet: there is nothing to request. Ask an admin.</p>
      </>
    );
  }
  return (
    <>
      <PageTitle>Request a token</PageTitle>
      <p>
        A token for one service account, made after {account.approvalsRequired} approval
        {account.approvalsRequired === 1 ? '' : 's'}. It is stored in AWS Secrets Manager and rotated before it expires.
      </p>
      <ErrorNotice error={topError} />
      <form
        aria-label="Request a token"
        onSubmit={(event) => {
          event.preventDefault();
          if (!submit.busy) void submit.act(account);
        }}
      >
        <div class="field">
          <label for="serviceAccount">Service account</label>
          <select
            id="serviceAccount"
            value={alias}
            onChange={(e) => choose(e.currentTarget.value)}
            {...fieldAria(error, 'serviceAccount')}
          >
            {accounts.map((a) => (
              <option key={a.alias} value={a.alias}>
                {a.alias}
              </option>
            ))}
          </select>
          <FieldError id="serviceAccount-error" error={error} field="serviceAccount" />
        </div>
        {account.issuance === 'manual' && (
          <Notice>
            Tokens of {account.alias} are created by hand: after approval, an admin creates the token at Atlassian and
            uploads it. It is ready once they have.
          </Notice>
        )}
        <fieldset class="field" aria-describedby={fieldAria(error, 'scopes', 'scopes-hint')['aria-describedby']}>
          <legend>Scopes</legend>
          <p id="scopes-hint" class="hint">
            Only those {account.alias} allows; choose at least one.
          </p>
          {account.allowedScopes.map((scope) => (
            <label key={scope}>
              <input
                type="checkbox"
                checked={scopes.includes(scope)}
                onChange={(e) => setScopes(toggle(scopes, scope, e.currentTarget.checked))}
                aria-invalid={error?.field === 'scopes' ? 'true' : undefined}
              />
              {scope}
            </label>
          ))}
          <FieldError id="scopes-error" error={error} field="scopes" />
        </fieldset>
        <div class="field">
          <label for="name">Token name</label>
          <input
            id="name"
            type="text"
            required
            maxLength={64}
            autoComplete="off"
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
            {...fieldAria(error, 'name', 'name-hint')}
          />
          <p id="name-hint" class="hint">
            Letters, digits, dot, dash and underscore, up to 64. The secret will be named token-warden.{account.alias}.
            {name || '<name>'}.
          </p>
          <FieldError id="name-error" error={error} field="name" />
        </div>
        <div class="field">
          <label for="lifetimeDays">Lifetime (days)</label>
          <input
            id="lifetimeDays"
            type="number"
            required
            min={1}
            max={account.maxLifetimeDays}
            step={1}
            value={lifetime}
            onInput={(e) => setLifetime(e.currentTarget.value)}
            {...fieldAria(error, 'lifetimeDays', 'lifetimeDays-hint')}
          />
          <p id="lifetimeDays-hint" class="hint">
            At most {account.maxLifetimeDays} days for {account.alias}.
          </p>
          <FieldError id="lifetimeDays-error" error={error} field="lifetimeDays" />
        </div>
        <div class="field">
          <label for="justification">Justification</label>
          <input
            id="justification"
            type="text"
            required
            maxLength={2000}
            value={justification}
            onInput={(e) => setJustification(e.currentTarget.value)}
            {...fieldAria(error, 'justification', 'justification-hint')}
          />
          <p id="justification-hint" class="hint">
            What the token is for; the approvers read it. One line.
          </p>
          <FieldError id="justification-error" error={error} field="justification" />
        </div>
        {account.allowedConsumers.length > 0 && (
          <fieldset
            class="field"
            aria-describedby={fieldAria(error, 'consumers', 'consumers-hint')['aria-describedby']}
          >
            <legend>Consumers</legend>
            <p id="consumers-hint" class="hint">
              The AWS roles that may read the secret.
            </p>
            {account.allowedConsumers.map((arn) => (
              <label key={arn}>
                <input
                  type="checkbox"
                  checked={consumers.includes(arn)}
                  onChange={(e) => setConsumers(toggle(consumers, arn, e.currentTarget.checked))}
                  aria-invalid={error?.field === 'consumers' ? 'true' : undefined}
                />
                <code>{arn}</code>
              </label>
            ))}
            <FieldError id="consumers-error" error={error} field="consumers" />
          </fieldset>
        )}
        <div class="actions">
          <button type="submit" disabled={submit.busy}>
            Request token
          </button>
        </div>
      </form>
    </>
  );
}
