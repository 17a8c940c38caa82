// pixels.js: native frames to RGBA in the browser (pure; no DOM), so that window/level needs no
// round-trip. A monochrome frame keeps its stored values (masked to BitsStored, sign-extended) in a
// typed array; drawing maps each through one lookup table that folds the modality LUT, the VOI
// window and the inversion together, so a redraw is one pass of table lookups.
import { T, num, nums, str, withFunctionalGroups } from './dicomjson.js';

/** frameInfo reads what decoding and windowing need from an instance's metadata. */
export function frameInfo(metadata) {
  const ds = withFunctionalGroups(metadata);
  const photometric = str(ds, T.PhotometricInterpretation) || 'MONOCHROME2';
  const centers = nums(ds, T.WindowCenter);
  const widths = nums(ds, T.WindowWidth);
  return {
    rows: num(ds, T.Rows, 0),
    columns: num(ds, T.Columns, 0),
    samples: num(ds, T.SamplesPerPixel, 1),
    planar: num(ds, T.PlanarConfiguration, 0),
    bitsAllocated: num(ds, T.BitsAllocated, 16),
    bitsStored: num(ds, T.BitsStored, num(ds, T.BitsAllocated, 16)),
    signed: num(ds, T.PixelRepresentation, 0) === 1,
    photometric,
    slope: num(ds, T.RescaleSlope, 1),
    intercept: num(ds, T.RescaleIntercept, 0),
    // The first window is the one the modality meant to be seen first (PS3.3 C.11.2.1.2).
    window: centers && widths && widths[0] > 0 ? { center: centers[0], width: widths[0] } : null,
  };
}

/** isSupported says whether decodeFrame handles the format; other frames go to the rendered resource. */
export function isSupported(info) {
  if (info.samples === 3) return info.bitsAllocated === 8;
  return info.samples === 1 && (info.bitsAllocated === 8 || info.bitsAllocated === 16) && info.bitsStored <= info.bitsAllocated;
}

/**
 * decodeFrame turns a native little-endian frame into {kind: 'mono', pixels, offset, min, max} (the
 * lookup table index of a pixel is pixels[i] + offset) or {kind: 'rgb', rgba}, both with rows and
 * columns.
 */
export function decodeFrame(buffer, info) {
  const n = info.rows * info.columns;
  if (info.samples === 3) {
    return { kind: 'rgb', rows: info.rows, columns: info.columns, rgba: rgbToRGBA(new Uint8Array(buffer, 0, n * 3), n, info.planar), bytes: n * 4 };
  }
  const pixels = storedValues(buffer, n, info);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = pixels[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const offset = info.signed ? 1 << (info.bitsAllocated - 1) : 0;
  return { kind: 'mono', rows: info.rows, columns: info.columns, pixels, offset, min, max, bytes: pixels.byteLength };
}

/**
 * storedValues copies the frame into a typed array of its pixel type, keeping BitsStored bits: the
 * bits above may carry overlays or garbage, and a signed value's sign is its bit BitsStored-1.
 */
function storedValues(buffer, n, info) {
  const wide = info.bitsAllocated === 16;
  const raw = wide ? new Uint16Array(buffer.slice(0, n * 2)) : new Uint8Array(buffer.slice(0, n));
  const shift = 32 - info.bitsStored;
  if (info.signed) {
    const out = wide ? new Int16Array(n) : new Int8Array(n);
    for (let i = 0; i < n; i++) out[i] = (raw[i] << shift) >> shift;
    return out;
  }
  if (info.bitsStored < info.bitsAllocated) {
    const mask = (1 << info.bitsStored) - 1;
    for (let i = 0; i < n; i++) raw[i] &= mask;
  }
  return raw;
}

/** rgbToRGBA interleaves n RGB pixels (planar 0: RGBRGB…, planar 1: RR…GG…BB…) into opaque RGBA. */
export function rgbToRGBA(bytes, n, planar) {
  const out = new Uint8ClampedArray(n * 4);
  const [rs, gs, bs, step] = planar === 1 ? [0, n, 2 * n, 1] : [0, 1, 2, 3];
  for (let i = 0, p = 0; i < n; i++, p += step) {
    const o = i * 4;
    out[o] = bytes[rs + p];
    out[o + 1] = bytes[gs + p];
    out[o + 2] = bytes[bs + p];
    out[o + 3] = 255;
  }
  return out;
}

/**
 * linear is the VOI LUT function LINEAR of PS3.3 C.11.2.1.2.1 with output range 0..255: values at
 * or below c − 0.5 − (w−1)/2 are black, above c − 0.5 + (w−1)/2 white, linear in between.
 */
export function linear(x, center, width) {
  const w = Math.max(width, 1);
  if (x <= center - 0.5 - (w - 1) / 2) return 0;
  if (x > center - 0.5 + (w - 1) / 2) return 255;
  return ((x - (center - 0.5)) / (w - 1) + 0.5) * 255;
}

/**
 * windowLUT maps every stored value of the pixel type (index = value + offset) to a packed RGBA
 * grey (little-endian, as ImageData's Uint32 view reads it): modality LUT, then the window, then
 * the inversion (MONOCHROME1 and the user's invert toggle cancel out).
 */
export function windowLUT(info, { center, width }, invert = false) {
  const size = 1 << info.bitsAllocated;
  const offset = info.signed ? size / 2 : 0;
  const flip = invert !== (info.photometric === 'MONOCHROME1');
  const lut = new Uint32Array(size);
  for (let i = 0; i < size; i++) {
    let g = Math.round(linear((i - offset) * info.slope + info.intercept, center, width));
    if (flip) g = 255 - g;
    lut[i] = 0xff000000 | (g << 16) | (g << 8) | g;
  }
  return lut;
}

/** renderMono writes frame's pixels through lut into out, a Uint32Array over an ImageData's bytes. */
export function renderMono(frame, lut, out) {
  const { pixels, offset } = frame;
  for (let i = 0, n = pixels.length; i < n; i++) out[i] = lut[pixels[i] + offset];
}

/** defaultWindow is the stored window, else one spanning the frame's values after the modality LUT. */
export function defaultWindow(info, frame) {
  if (info.window) return { ...info.window };
  if (!frame || frame.kind !== 'mono') return { center: 128, width: 256 };
  const lo = frame.min * info.slope + info.intercept;
  const hi = frame.max * info.slope + info.intercept;
  return { center: (lo + hi) / 2, width: Math.max(Math.abs(hi - lo), 1) };
}

/** presets are the usual CT windows (Hounsfield units), by key. */
export const presets = {
  CT: [
    { key: '5', name: 'Lung', center: -600, width: 1500 },
    { key: '6', name: 'Bone', center: 300, width: 1500 },
    { key: '7', name: 'Brain', center: 40, width: 80 },
    { key: '8', name: 'Abdomen', center: 40, width: 400 },
  ],
};
