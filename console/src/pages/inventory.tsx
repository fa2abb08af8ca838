import { PageTitle } from '../components/ui';

export function Inventory() {
  return <PageTitle>Inventory</PageTitle>;
}
