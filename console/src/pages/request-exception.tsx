import { PageTitle } from '../components/ui';

export function RequestException() {
  return <PageTitle>Request an exception</PageTitle>;
}
