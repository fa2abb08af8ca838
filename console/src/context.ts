import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Api } from './api';
import type { ConsoleConfig } from './config';
import type { Catalog, Me } from './types';

/** What every page may use: the deployment's settings, the API client, who is signed in and the catalog. */
export interface ConsoleContext {
  config: ConsoleConfig;
  api: Api;
  me: Me;
  catalog: Catalog;
  signOut(): void;
}

export const Console = createContext<ConsoleContext | undefined>(undefined);

export function useConsole(): ConsoleContext {
  const value = useContext(Console);
  if (!value) throw new Error('useConsole outside the console');
  return value;
}

/** The role shown in the header: admins first, then approvers, else member. */
export function roleOf(me: Me): 'admin' | 'approver' | 'member' {
  return me.admin ? 'admin' : me.approver ? 'approver' : 'member';
}
