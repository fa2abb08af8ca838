import { PageTitle } from '../components/ui';

export function ApprovalReview() {
  return <PageTitle>Review</PageTitle>;
}
