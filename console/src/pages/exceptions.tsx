import { PageTitle } from '../components/ui';

export function MyExceptions() {
  return <PageTitle>Exceptions</PageTitle>;
}
