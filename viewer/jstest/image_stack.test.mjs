// Unit tests of stack.js and dicomjson.js: slice order, multi-frame expansion, prefetch order, DICOM JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildStack, sliceDistance, prefetchOrder, batches } from '../static/js/stack.js';
import { first, str, num, nums, personName, values, formatDate } from '../static/js/dicomjson.js';

const axial = [1, 0, 0, 0, 1, 0];
function inst(sop, number, { z, orientation = axial, frames } = {}) {
  const ds = { '00080018': { vr: 'UI', Value: [sop] }, '00200013': { vr: 'IS', Value: [number] } };
  if (z !== undefined) {
    ds['00200032'] = { vr: 'DS', Value: [0, 0, z] };
    ds['00200037'] = { vr: 'DS', Value: orientation };
  }
  if (frames) ds['00280008'] = { vr: 'IS', Value: [frames] };
  return ds;
}
const order = (stack) => stack.map((e) => e.sop + (e.frames > 1 ? '#' + e.frame : ''));

test('sliceDistance projects the position on the normal', () => {
  assert.equal(sliceDistance(inst('a', 1, { z: 12.5 })), 12.5);
  // Sagittal: rows along y, columns along −z: the normal is x.
  const sag = { '00200032': { vr: 'DS', Value: [7, 1, 2] }, '00200037': { vr: 'DS', Value: [0, 1, 0, 0, 0, -1] } };
  assert.equal(sliceDistance(sag), -7);
  assert.equal(sliceDistance(inst('a', 1)), null);
});

test('slices sort by position along the normal, not instance number', () => {
  const s = buildStack([inst('c', 1, { z: 30 }), inst('a', 2, { z: -10 }), inst('b', 3, { z: 5 })]);
  assert.deepEqual(order(s), ['a', 'b', 'c']);
});

test('without positions, slices sort by InstanceNumber', () => {
  const s = buildStack([inst('c', 3), inst('a', 1, { z: 9 }), inst('b', 2)]);
  assert.deepEqual(order(s), ['a', 'b', 'c']);
});

test('multi-frame instances expand to one entry per frame', () => {
  const s = buildStack([inst('m', 2, { frames: 3 }), inst('s', 1)]);
  assert.deepEqual(order(s), ['s', 'm#1', 'm#2', 'm#3']);
  assert.equal(s[3].frame, 3);
});

test('prefetch goes from the current slice outward', () => {
  assert.deepEqual(prefetchOrder(6, 2), [2, 3, 1, 4, 0, 5]);
  assert.deepEqual(prefetchOrder(3, 0), [0, 1, 2]);
  assert.deepEqual(prefetchOrder(3, 9), [2, 1, 0]);
  assert.deepEqual(prefetchOrder(0, 0), []);
});

test('batches put frames of one instance in one request, bounded', () => {
  const s = buildStack([inst('m', 1, { frames: 5 }), inst('s', 2)]);
  assert.deepEqual(batches(s, [0, 1, 2, 3, 4, 5], 3), [[0, 1, 2], [3, 4], [5]]);
});

test('DICOM JSON helpers', () => {
  const ds = {
    '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Doe^Jane^^Dr' }] },
    '00281050': { vr: 'DS', Value: [40, '300'] },
    '00200013': { vr: 'IS', Value: ['7'] },
    '00081030': { vr: 'LO' },
    '00080020': { vr: 'DA', Value: ['20240131'] },
  };
  assert.equal(str(ds, '00100010'), 'Doe, Jane Dr');
  assert.equal(personName({ Alphabetic: 'Anonymous' }), 'Anonymous');
  assert.deepEqual(nums(ds, '00281050'), [40, 300]);
  assert.equal(num(ds, '00200013'), 7);
  assert.equal(num(ds, '00081030', -1), -1);
  assert.equal(first(ds, '00081030', 'none'), 'none');
  assert.deepEqual(values(ds, '99990000'), []);
  assert.equal(str(ds, '00081030'), '');
  assert.equal(formatDate(str(ds, '00080020')), '2024-01-31');
});
