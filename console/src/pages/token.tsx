import { PageTitle } from '../components/ui';

export function TokenPage() {
  return <PageTitle>Token</PageTitle>;
}
