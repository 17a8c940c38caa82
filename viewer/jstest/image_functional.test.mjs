import test from 'node:test';
import assert from 'node:assert/strict';
import { frameInfo } from '../static/js/pixels.js';

// An enhanced multi-frame CT keeps its rescale and window in the functional groups.
const enhanced = {
  '00280010': { vr: 'US', Value: [512] },
  '00280011': { vr: 'US', Value: [512] },
  '00280100': { vr: 'US', Value: [16] },
  '52009229': { vr: 'SQ', Value: [{
    '00289145': { vr: 'SQ', Value: [{ '00281052': { vr: 'DS', Value: [-1024] }, '00281053': { vr: 'DS', Value: [1] } }] },
  }] },
  '52009230': { vr: 'SQ', Value: [{
    '00289132': { vr: 'SQ', Value: [{ '00281050': { vr: 'DS', Value: [49] }, '00281051': { vr: 'DS', Value: [102] } }] },
  }] },
};

test('rescale and window come from the functional groups when absent at the top level', () => {
  const info = frameInfo(enhanced);
  assert.equal(info.intercept, -1024);
  assert.equal(info.slope, 1);
  assert.deepEqual(info.window, { center: 49, width: 102 });
});

test('top-level values win over the functional groups', () => {
  const info = frameInfo({ ...enhanced, '00281052': { vr: 'DS', Value: [0] } });
  assert.equal(info.intercept, 0);
});
