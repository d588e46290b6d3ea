/** Which failures mean "the disk is full" (domain/storage-full.ts), from every store Packhouse writes to. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isStorageFull } from '../../src/domain/storage-full.js';

test('ENOSPC, EDQUOT, SQLITE_FULL and PostgreSQL 53100 are a full disk, also as a cause; other failures are not', () => {
  for (const code of ['ENOSPC', 'EDQUOT', 'SQLITE_FULL', '53100']) {
    assert.equal(isStorageFull(Object.assign(new Error('x'), { code })), true, code);
    assert.equal(isStorageFull(new Error('wrapped', { cause: Object.assign(new Error('x'), { code }) })), true, `${code} as a cause`);
  }
  for (const err of [new Error('x'), Object.assign(new Error('x'), { code: 'EACCES' }), Object.assign(new Error('x'), { code: 53100 }), undefined, null, 'ENOSPC']) {
    assert.equal(isStorageFull(err), false, String(err));
  }
});
