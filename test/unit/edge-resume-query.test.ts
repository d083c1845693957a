import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseResume } from '../../src/edge/viewer-socket.js';

test('the resume query names a rendition and its last chunk; anything else is refused', () => {
  assert.deepEqual(parseResume(''), []);
  assert.deepEqual(parseResume('v360:12.3,a0:12.4'), [
    { rendition: 'v360', segment: 12, chunk: 3 },
    { rendition: 'a0', segment: 12, chunk: 4 },
  ]);
  for (const bad of [
    'v360',
    'v360:12',
    'v360:-1.0',
    'v360:1.-2',
    'v360:1e3.0',
    'v360:99999999999.0',
    'v360:1.999999',
    'v360:4294967296.0',
    'v360:1.65536',
    '../x:1.0',
    'v360:1.0,v360:2.0',
    'a:1.0,b:1.0,c:1.0,d:1.0,e:1.0',
    'v360:1.0,',
  ])
    assert.equal(parseResume(bad), undefined, bad);
});
