import { PageTitle } from '../components/ui';

export function AllTokens() {
  return <PageTitle>All tokens</PageTitle>;
}
