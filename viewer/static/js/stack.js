// stack.js: a series as a stack of frames in anatomical order, and the order in which to prefetch
// it (pure; no DOM).
import { T, num, nums, str } from './dicomjson.js';

/**
 * sliceDistance is the position of an instance along its slice normal (ImagePositionPatient ·
 * (row × column direction cosines)), or null without both attributes.
 */
export function sliceDistance(ds) {
  const p = nums(ds, T.ImagePositionPatient);
  const o = nums(ds, T.ImageOrientationPatient);
  if (!p || p.length !== 3 || !o || o.length !== 6) return null;
  const n = [o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]];
  return p[0] * n[0] + p[1] * n[1] + p[2] * n[2];
}

/**
 * buildStack orders the instances of a series and expands multi-frame instances to one entry per
 * frame: [{ds, sop, frame (1-based), frames (of its instance)}]. The order is by position along the
 * normal when every instance has one (instance numbers are often in acquisition order, not space),
 * else by InstanceNumber; ties keep InstanceNumber order.
 */
export function buildStack(instances) {
  const items = instances.map((ds) => ({ ds, at: sliceDistance(ds), number: num(ds, T.InstanceNumber, 0) }));
  const spatial = items.length > 1 && items.every((it) => it.at !== null);
  items.sort((a, b) => (spatial ? a.at - b.at : 0) || a.number - b.number);
  const stack = [];
  for (const { ds } of items) {
    const frames = Math.max(1, num(ds, T.NumberOfFrames, 1));
    const sop = str(ds, T.SOPInstanceUID);
    for (let f = 1; f <= frames; f++) stack.push({ ds, sop, frame: f, frames });
  }
  return stack;
}

/** prefetchOrder lists the indexes 0..n-1 from current outward: current, +1, −1, +2, −2, … */
export function prefetchOrder(n, current) {
  const order = [];
  if (n <= 0) return order;
  const c = Math.min(Math.max(current, 0), n - 1);
  order.push(c);
  for (let d = 1; order.length < n; d++) {
    if (c + d < n) order.push(c + d);
    if (c - d >= 0) order.push(c - d);
  }
  return order;
}

/**
 * batches groups stack indexes (in the given order) into requests: frames of one instance go
 * together, at most max per request, since one frames request names one instance.
 */
export function batches(stack, indexes, max = 8) {
  const out = [];
  const open = new Map(); // sop → the batch still taking frames
  for (const i of indexes) {
    const sop = stack[i].sop;
    let b = open.get(sop);
    if (!b || b.length >= max) {
      b = [];
      out.push(b);
      open.set(sop, b);
    }
    b.push(i);
  }
  return out;
}
