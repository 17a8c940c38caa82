// Unit tests of pixels.js: windowing maths and frame decoding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linear, windowLUT, renderMono, decodeFrame, rgbToRGBA, frameInfo, defaultWindow, isSupported } from '../static/js/pixels.js';

const grey = (packed) => packed & 0xff;

function info(over = {}) {
  return { rows: 1, columns: 4, samples: 1, planar: 0, bitsAllocated: 16, bitsStored: 16, signed: false, photometric: 'MONOCHROME2', slope: 1, intercept: 0, window: null, ...over };
}

function draw(inf, values, win, invert = false) {
  const Arr = inf.bitsAllocated === 8 ? Uint8Array : Uint16Array;
  const frame = decodeFrame(new Arr(values).buffer, { ...inf, columns: values.length });
  const out = new Uint32Array(values.length);
  renderMono(frame, windowLUT(inf, win, invert), out);
  return Array.from(out, grey);
}

test('linear follows PS3.3 C.11.2.1.2.1', () => {
  // c=40, w=400: black at or below c-0.5-(w-1)/2 = -160, white above c-0.5+(w-1)/2 = 239.
  assert.equal(linear(-160, 40, 400), 0);
  assert.equal(linear(240, 40, 400), 255);
  assert.equal(linear(239, 40, 400), ((239 - 39.5) / 399 + 0.5) * 255);
  assert.ok(Math.abs(linear(39.5, 40, 400) - 127.5) < 1e-9);
  // w=1 is a threshold at c-0.5.
  assert.equal(linear(-1, 0, 1), 0);
  assert.equal(linear(0, 0, 1), 255);
});

test('modality LUT applies before the window', () => {
  // CT: stored 0..2000 with intercept -1024: window 40/400 sees HU.
  const g = draw(info({ intercept: -1024 }), [0, 1024 + 40, 2000, 1024 - 160], { center: 40, width: 400 });
  assert.deepEqual([g[0], g[2], g[3]], [0, 255, 0]);
  assert.ok(Math.abs(g[1] - 128) <= 1);
});

test('slope scales stored values', () => {
  const g = draw(info({ slope: 2 }), [0, 50, 100], { center: 100, width: 200 });
  assert.ok(Math.abs(g[1] - 128) <= 1);
  assert.equal(g[2], 255);
});

test('MONOCHROME1 is inverted, and the invert toggle undoes it', () => {
  const m1 = info({ photometric: 'MONOCHROME1' });
  assert.deepEqual(draw(m1, [0, 1000], { center: 500, width: 1000 }), [255, 0]);
  assert.deepEqual(draw(m1, [0, 1000], { center: 500, width: 1000 }, true), [0, 255]);
  assert.deepEqual(draw(info(), [0, 1000], { center: 500, width: 1000 }, true), [255, 0]);
});

test('signed 16-bit values are read as negative', () => {
  const inf = info({ signed: true });
  const frame = decodeFrame(new Int16Array([-1000, 0, 1000]).buffer, { ...inf, columns: 3 });
  assert.deepEqual(Array.from(frame.pixels), [-1000, 0, 1000]);
  assert.equal(frame.min, -1000);
  assert.deepEqual(draw(inf, new Uint16Array(new Int16Array([-1000, 1000]).buffer), { center: 0, width: 2000 }), [0, 255]);
});

test('BitsStored masks the bits above and sign-extends signed values', () => {
  const u = decodeFrame(new Uint16Array([0xf123, 0x0fff]).buffer, info({ bitsStored: 12, columns: 2 }));
  assert.deepEqual(Array.from(u.pixels), [0x123, 0xfff]);
  const s = decodeFrame(new Uint16Array([0x0fff, 0xf800, 0x07ff]).buffer, info({ bitsStored: 12, signed: true, columns: 3 }));
  assert.deepEqual(Array.from(s.pixels), [-1, -2048, 2047]);
});

test('8-bit unsigned and signed', () => {
  assert.deepEqual(draw(info({ bitsAllocated: 8, bitsStored: 8 }), [0, 255], { center: 127.5, width: 256 }), [0, 255]);
  const s = decodeFrame(new Uint8Array([0x80, 0x7f]).buffer, info({ bitsAllocated: 8, bitsStored: 8, signed: true, columns: 2 }));
  assert.deepEqual(Array.from(s.pixels), [-128, 127]);
});

test('RGB planar configuration 0 and 1 give the same RGBA', () => {
  const interleaved = new Uint8Array([1, 2, 3, 4, 5, 6]);
  const planar = new Uint8Array([1, 4, 2, 5, 3, 6]);
  const want = [1, 2, 3, 255, 4, 5, 6, 255];
  assert.deepEqual(Array.from(rgbToRGBA(interleaved, 2, 0)), want);
  assert.deepEqual(Array.from(rgbToRGBA(planar, 2, 1)), want);
  const f = decodeFrame(planar.buffer, info({ samples: 3, bitsAllocated: 8, bitsStored: 8, planar: 1, columns: 2 }));
  assert.equal(f.kind, 'rgb');
  assert.deepEqual(Array.from(f.rgba), want);
});

test('frameInfo reads the first window and defaults', () => {
  const ds = {
    '00280010': { vr: 'US', Value: [512] }, '00280011': { vr: 'US', Value: [256] },
    '00280100': { vr: 'US', Value: [16] }, '00280101': { vr: 'US', Value: [12] }, '00280103': { vr: 'US', Value: [1] },
    '00281050': { vr: 'DS', Value: [40, 300] }, '00281051': { vr: 'DS', Value: [400, 1500] },
    '00281052': { vr: 'DS', Value: [-1024] },
  };
  const f = frameInfo(ds);
  assert.deepEqual([f.rows, f.columns, f.bitsStored, f.signed, f.slope, f.intercept], [512, 256, 12, true, 1, -1024]);
  assert.deepEqual(f.window, { center: 40, width: 400 });
  assert.equal(f.photometric, 'MONOCHROME2');
  assert.ok(isSupported(f));
  assert.ok(!isSupported({ ...f, bitsAllocated: 32 }));
});

test('defaultWindow spans the frame without a stored window', () => {
  const inf = info({ intercept: -100 });
  const frame = decodeFrame(new Uint16Array([100, 300]).buffer, { ...inf, columns: 2 });
  assert.deepEqual(defaultWindow(inf, frame), { center: 100, width: 200 });
});
