import { PageTitle } from '../components/ui';

export function RequestToken() {
  return <PageTitle>Request a token</PageTitle>;
}
