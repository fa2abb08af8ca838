import { PageTitle } from '../components/ui';

export function MyPersonalTokens() {
  return <PageTitle>My personal tokens</PageTitle>;
}
