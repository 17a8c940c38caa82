import test from 'node:test';
import assert from 'node:assert/strict';
import { retryAt } from '../static/js/signin.js';

test('a throttled sign-in says when to try again', () => {
  const now = new Date(2024, 0, 1, 10, 0, 0);
  assert.equal(retryAt('too many failed sign-ins; retry after 1m30s', now), new Date(2024, 0, 1, 10, 1, 30).toLocaleTimeString());
  assert.equal(retryAt('too many failed sign-ins; retry after 4s', now), new Date(2024, 0, 1, 10, 0, 4).toLocaleTimeString());
  assert.equal(retryAt('wrong username or password', now), '');
});
