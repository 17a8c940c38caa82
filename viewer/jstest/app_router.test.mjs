import test from 'node:test';
import assert from 'node:assert/strict';
import { parseHash, hashOf, signInHash, nextHash } from '../static/js/router.js';

test('hashes become routes', () => {
  const r = (h) => {
    const { name, uid, params } = parseHash(h);
    return [name, uid, params.toString()];
  };
  assert.deepEqual(r(''), ['studies', '', '']);
  assert.deepEqual(r('#/studies?PatientName=doe&offset=50'), ['studies', '', 'PatientName=doe&offset=50']);
  assert.deepEqual(r('#/study/1.2.3?series=4.5'), ['study', '1.2.3', 'series=4.5']);
  assert.deepEqual(r('#/study/'), ['studies', '', '']);
  assert.deepEqual(r('#/users'), ['users', '', '']);
  assert.deepEqual(r('#/nope'), ['studies', '', '']);
  assert.deepEqual(r('#/signin?next=%23%2Fstudy%2F1.2%3Fa%3Db'), ['signin', '', 'next=%23%2Fstudy%2F1.2%3Fa%3Db']);
});

test('routes become hashes and sign-in leads back', () => {
  assert.equal(hashOf('studies', new URLSearchParams('PatientName=doe')), '#/studies?PatientName=doe');
  assert.equal(hashOf('study', null, '1.2.3'), '#/study/1.2.3');
  const back = signInHash('#/study/1.2?a=b');
  assert.equal(back, '#/signin?next=%23%2Fstudy%2F1.2%3Fa%3Db');
  assert.equal(nextHash(parseHash(back).params), '#/study/1.2?a=b');
  assert.equal(signInHash('#/signin?next=x'), '#/signin');
  assert.equal(nextHash(new URLSearchParams('next=https://evil.example/')), '#/studies');
  assert.equal(nextHash(new URLSearchParams('')), '#/studies');
});
