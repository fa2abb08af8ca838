import { PageTitle } from '../components/ui';

export function PendingApprovals() {
  return <PageTitle>Pending approvals</PageTitle>;
}
