import { PageTitle } from '../components/ui';

export function AllExceptions() {
  return <PageTitle>All exceptions</PageTitle>;
}
