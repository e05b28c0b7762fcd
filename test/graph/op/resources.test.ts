import assert from 'node:assert/strict';
import { test } from 'node:test';
import { liveResourceCount, resourceOf, ResourceScope } from '../../../src/graph/op/resources.ts';

test('a resource scope hands out unique ids and frees everything it holds once', () => {
  const before = liveResourceCount();
  const a = new ResourceScope();
  const b = new ResourceScope();
  let freed = 0;
  const ia = a.add('table', 'lookup_table', { v: 1 }, () => freed++);
  const ib = b.add('table', 'lookup_table', { v: 2 });
  assert.notEqual(ia, ib);
  assert.deepEqual(resourceOf(ia, 'lookup_table', 'test'), { v: 1 });
  assert.throws(() => resourceOf(ia, 'other', 'test'), { code: 'CTR_ERR_INVALID_GRAPH' });
  assert.throws(() => a.add('table', 'lookup_table', {}), /twice/);
  assert.equal(liveResourceCount(), before + 2);
  a.dispose();
  a.dispose();
  assert.equal(freed, 1);
  assert.throws(() => resourceOf(ia, 'lookup_table', 'test'), { code: 'CTR_ERR_EXECUTION' });
  b.dispose();
  assert.equal(liveResourceCount(), before);
});
