import { PageTitle } from '../components/ui';

export function MyTokens() {
  return <PageTitle>My tokens</PageTitle>;
}
