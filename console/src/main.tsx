/**
 * Boot: read the deployment's settings, finish a sign-in when this is the callback, show the sign-in page when no
 * one is signed in, else load who is signed in and the catalog and render the console.
 */
import './styles.css';
import { render } from 'preact';
import { createApi, toApiError } from './api';
import { App } from './app';
import { completeSignIn, signedIn, signIn, signOut } from './auth';
import { type ConsoleConfig, readConfig } from './config';
import { SignedOut } from './signed-out';
import type { Catalog, Me } from './types';

const root = document.getElementById('app')!;

function showSignedOut(config: ConsoleConfig | undefined, message?: string, error?: string) {
  // A sign-in that cannot start (the identity provider unreachable, or refusing this origin) says so.
  const start = config
    ? () =>
        signIn(config).catch((e: unknown) =>
          showSignedOut(config, undefined, `Sign-in could not start: ${(e as Error).message}`),
        )
    : undefined;
  render(<SignedOut message={message} error={error} onSignIn={start} />, root);
}

async function start(): Promise<void> {
  let config: ConsoleConfig;
  try {
    config = readConfig();
  } catch (error) {
    showSignedOut(undefined, undefined, (error as Error).message);
    return;
  }
  if (location.pathname === '/console/callback') {
    try {
      const returnTo = await completeSignIn(config, new URL(location.href));
      history.replaceState(null, '', returnTo);
    } catch (error) {
      history.replaceState(null, '', '/console/');
      showSignedOut(config, undefined, `Sign-in did not complete: ${(error as Error).message}`);
      return;
    }
  }
  if (!signedIn()) {
    showSignedOut(config);
    return;
  }
  const api = createApi(config);
  try {
    const [me, catalog] = await Promise.all([api.get<Me>('/me'), api.get<Catalog>('/catalog')]);
    const leave = () => {
      void signOut(config);
      showSignedOut(config, 'You are signed out.');
    };
    render(<App context={{ config, api, me, catalog, signOut: leave }} />, root);
  } catch (error) {
    showSignedOut(config, undefined, toApiError(error).message);
  }
}

void start();
