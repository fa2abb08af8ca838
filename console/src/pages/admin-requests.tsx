import { PageTitle } from '../components/ui';

export function AllRequests() {
  return <PageTitle>All requests</PageTitle>;
}
