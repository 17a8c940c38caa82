import test from 'node:test';
import assert from 'node:assert/strict';
import { parseMultipart, boundaryOf } from '../static/js/multipart.js';

const enc = (s) => new TextEncoder().encode(s).buffer;
const dec = (b) => new TextDecoder().decode(b);

test('boundaryOf reads quoted and unquoted boundaries', () => {
  assert.equal(boundaryOf('multipart/related; type="application/octet-stream"; boundary=abc'), 'abc');
  assert.equal(boundaryOf('multipart/related; boundary="a b"; type=x'), 'a b');
  assert.equal(boundaryOf('application/octet-stream'), '');
});

test('parseMultipart splits parts with their types, binary safe', () => {
  const body = enc('--b1\r\nContent-Type: application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1\r\n\r\n\r\n--b\r\n--b1\r\nContent-Type: image/jpeg\r\n\r\nxyz\r\n--b1--\r\n');
  const parts = parseMultipart(body, 'multipart/related; boundary=b1');
  assert.equal(parts.length, 2);
  assert.equal(parts[0].contentType, 'application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1');
  assert.equal(dec(parts[0].data), '\r\n--b');
  assert.equal(dec(parts[1].data), 'xyz');
});

test('a single-part body is one part', () => {
  const parts = parseMultipart(enc('raw'), 'application/octet-stream');
  assert.equal(parts.length, 1);
  assert.equal(dec(parts[0].data), 'raw');
});
