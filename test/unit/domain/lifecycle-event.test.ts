import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LIFECYCLE_DETAIL_TYPES } from '../../../functions/adapters/aws/lifecycle-events';
import { AUDIT_EVENTS } from '../../../functions/domain/records';

const doc = readFileSync(join(__dirname, '../../../docs/events.md'), 'utf8');

/** The JSON Schema block of docs/events.md. */
function documentedSchema(): { properties: { event: { enum: string[] } } } {
  const match = /```json\n([\s\S]*?)\n```/.exec(doc);
  if (!match) throw new Error('docs/events.md has no JSON schema block');
  return JSON.parse(match[1]!);
}

describe('docs/events.md: the lifecycle event contract', () => {
  it("lists exactly the audit events, in the code's order, in the detail schema's enum", () => {
    expect(documentedSchema().properties.event.enum).toEqual([...AUDIT_EVENTS]);
  });

  it.each(AUDIT_EVENTS.map((e) => [e, LIFECYCLE_DETAIL_TYPES[e]]))(
    'has a table row for %s with its detail-type "%s"',
    (event, detailType) => {
      expect(doc).toMatch(new RegExp(`\\| \`${detailType}\` +\\| \`${event}\` +\\|`));
    },
  );
});
