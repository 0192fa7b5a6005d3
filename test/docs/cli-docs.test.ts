/** docs/cli.md quotes each command's --help text; this keeps the two from drifting apart. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { AUTOBAHN_USAGE, CONNECT_USAGE, LISTEN_USAGE } from '../../src/cli/usage.js';

test('docs/cli.md contains the current usage text of every command', () => {
  const doc = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');
  for (const [name, usage] of Object.entries({ connect: CONNECT_USAGE, listen: LISTEN_USAGE, autobahn: AUTOBAHN_USAGE })) {
    assert.ok(doc.includes(usage), `docs/cli.md is missing the current 'sockwave ${name} --help' text`);
  }
});
