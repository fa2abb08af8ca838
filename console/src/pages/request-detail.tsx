import { PageTitle } from '../components/ui';

export function RequestDetail() {
  return <PageTitle>Request</PageTitle>;
}
