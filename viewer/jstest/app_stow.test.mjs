import test from 'node:test';
import assert from 'node:assert/strict';
import { isDicom, batches, multipartBody, contentType, newBoundary, storeOutcomes, parseWarnings, reasonText } from '../static/js/stow.js';
import { parseMultipart } from '../static/js/multipart.js';

function part10(fill = 0) {
  const b = new Uint8Array(200).fill(fill);
  b.set([0x44, 0x49, 0x43, 0x4d], 128);
  return b;
}

test('DICM at offset 128 marks a Part 10 file', () => {
  assert.equal(isDicom(part10()), true);
  assert.equal(isDicom(part10().buffer), true);
  assert.equal(isDicom(new TextEncoder().encode('hello '.repeat(40))), false);
  assert.equal(isDicom(part10().subarray(0, 131)), false, 'too short');
  assert.equal(isDicom(new Uint8Array(0)), false);
});

test('batches keep order and respect file count and bytes', () => {
  const f = (size, name) => ({ size, name });
  const files = [f(10, 'a'), f(10, 'b'), f(10, 'c'), f(100, 'big'), f(5, 'd'), f(5, 'e')];
  const names = (bs) => bs.map((b) => b.map((x) => x.name).join(''));
  assert.deepEqual(names(batches(files, { maxFiles: 2, maxBytes: 1000 })), ['ab', 'cbig', 'de']);
  assert.deepEqual(names(batches(files, { maxFiles: 10, maxBytes: 25 })), ['ab', 'c', 'big', 'de']);
  assert.deepEqual(batches([], {}), []);
});

test('the multipart body has CRLFs and delimiters as Go reads them', async () => {
  const boundary = newBoundary();
  assert.match(boundary, /^medimg-[0-9a-f]{32}$/);
  assert.notEqual(boundary, newBoundary());
  const a = part10(1);
  const b = new Blob([part10(2)]);
  const body = new Uint8Array(await multipartBody([a, b], 'XYZ').arrayBuffer());
  const head = '--XYZ\r\nContent-Type: application/dicom\r\n\r\n';
  const want = new Uint8Array([
    ...new TextEncoder().encode(head), ...a, 13, 10,
    ...new TextEncoder().encode(head), ...part10(2), 13, 10,
    ...new TextEncoder().encode('--XYZ--\r\n'),
  ]);
  assert.deepEqual(body, want);
  const parts = parseMultipart(body.buffer, contentType('XYZ'));
  assert.equal(parts.length, 2);
  assert.equal(parts[0].contentType, 'application/dicom');
  assert.deepEqual(new Uint8Array(parts[1].data), part10(2));
  assert.equal(contentType('XYZ'), 'multipart/related; type="application/dicom"; boundary=XYZ');
});

const stored = { '00081150': { vr: 'UI', Value: ['1.2'] }, '00081155': { vr: 'UI', Value: ['1.2.3'] } };
const failed = (code) => ({ '00081197': { vr: 'US', Value: [code] } });

test('Store Instances Responses become one outcome per file', () => {
  const cases = [
    ['all stored', 2, 200, { '00081190': { vr: 'UR' }, '00081199': { vr: 'SQ', Value: [stored, stored] } }, '', ['stored', 'stored']],
    ['duplicate alone', 1, 409, { '00081198': { vr: 'SQ', Value: [failed(273)] } }, '299 medimg "part 1: SOP instance 1.2.3 already stored"', ['duplicate']],
  ];
  for (const [name, count, status, body, warning, want] of cases) {
    assert.deepEqual(storeOutcomes(count, status, body, warning).map((o) => o.outcome), want, name);
  }
  const mixed = storeOutcomes(3, 202,
    { '00081198': { vr: 'SQ', Value: [failed(0xc000), failed(273)] }, '00081199': { vr: 'SQ', Value: [stored] } },
    '299 medimg "part 1: not DICOM, a, b", 299 medimg "part 3: SOP instance already stored"');
  assert.deepEqual(mixed, [
    { outcome: 'failed', message: 'cannot understand (not DICOM or truncated): not DICOM, a, b' },
    { outcome: 'stored', message: '' },
    { outcome: 'duplicate', message: 'already stored: SOP instance already stored' },
  ]);
});

test('a request refused as a whole fails each of its files with the server message', () => {
  assert.deepEqual(storeOutcomes(2, 413, { code: 'too_large', message: 'body over 1 MiB' }, ''), [
    { outcome: 'failed', message: 'body over 1 MiB' },
    { outcome: 'failed', message: 'body over 1 MiB' },
  ]);
  assert.deepEqual(storeOutcomes(1, 502, null, ''), [{ outcome: 'failed', message: 'the server answered 502' }]);
});

test('warnings and reasons read as words', () => {
  assert.deepEqual(parseWarnings('299 medimg "a, \\"b\\"", 299 medimg "more results"'), [
    { code: 299, text: 'a, "b"' },
    { code: 299, text: 'more results' },
  ]);
  assert.equal(reasonText(0xa900), 'data set does not match its SOP class (UIDs missing or malformed)');
  assert.equal(reasonText(0xb000), 'failure 0xB000');
});
