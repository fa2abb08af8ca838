/** The fake Atlassian Cloud of the local runtime and the tests. */
export { FAKE_ROUTE_NAMES, type FakeRouteName } from './controls';
export { DEMO_SEED } from './seed';
export {
  createFakeAtlassian,
  type FakeAtlassian,
  type FakeAtlassianOptions,
  type FakeCall,
  type FakeTokenView,
  newTokenValue,
} from './server';
export {
  type FakeAccount,
  FakeAtlassianState,
  type FakeAuthPolicy,
  type FakeMembership,
  type FakePolicyTask,
  type FakeSeed,
  type FakeSeedPersonalToken,
  type FakeSite,
  type FakeTokenRecord,
  type FakeTokenStatus,
  type InventorySortField,
  POLICY_MOVE_MS,
} from './state';
