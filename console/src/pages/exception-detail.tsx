import { PageTitle } from '../components/ui';

export function ExceptionDetail() {
  return <PageTitle>Exception</PageTitle>;
}
