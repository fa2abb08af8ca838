import { PageTitle } from '../components/ui';

export function NotFound() {
  return (
    <>
      <PageTitle>Page not found</PageTitle>
      <p>
        There is no console page here. <a href="/console/">Go to the start page</a>.
      </p>
    </>
  );
}
