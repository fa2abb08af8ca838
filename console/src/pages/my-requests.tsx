import { PageTitle } from '../components/ui';

export function MyRequests() {
  return <PageTitle>My requests</PageTitle>;
}
