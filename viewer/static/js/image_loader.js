// image_loader.js: the frames of one stack, fetched as native pixels and decoded, prefetched from
// the shown slice outward with a few requests in flight, and kept in a bounded cache that lets go
// of the slices farthest from the shown one first. Frames the server cannot decode to native (406)
// come from the rendered resource instead, with the window in the request.
import * as api from './api.js';
import { frameInfo, decodeFrame, isSupported } from './pixels.js';
import { prefetchOrder, batches } from './stack.js';

const IN_FLIGHT = 3;
const PER_REQUEST = 8;
/** BUDGET is the bytes of decoded frames one stack may keep (a 512×512 CT slice is 512 KB). */
const BUDGET = 256 * 1024 * 1024;

/** Syntaxes whose frames are stored as is; any other was encapsulated, and decodes interleaved. */
const NATIVE_SYNTAXES = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.1.99']);

export class FrameLoader {
  /**
   * opts: study, series, stack (from buildStack), syntaxes (Map sop → transfer syntax, may be
   * empty), signal, onFrame(index) when a frame arrives, onProgress(loaded, total).
   */
  constructor(opts) {
    Object.assign(this, opts);
    this.frames = new Map(); // index → decoded frame, or {kind: 'rendered', image, key}
    this.pending = new Set();
    this.failed = new Set(); // sops whose frames failed other than with 406: not asked again
    this.rendered = new Set(); // sops drawn through the rendered resource
    this.infos = new Map(); // sop → frameInfo
    this.bytes = 0;
    this.inFlight = 0;
    this.current = 0;
  }

  /** info returns the pixel description of stack entry i. */
  info(i) {
    const { sop, ds } = this.stack[i];
    let info = this.infos.get(sop);
    if (!info) {
      info = frameInfo(ds);
      const syntax = this.syntaxes.get(sop);
      // The server decodes encapsulated colour frames interleaved whatever the dataset says.
      if (syntax && !NATIVE_SYNTAXES.has(syntax)) info.planar = 0;
      this.infos.set(sop, info);
    }
    return info;
  }

  get(i) {
    return this.frames.get(i);
  }

  /** needsRendered says whether entry i is drawn through the rendered resource. */
  needsRendered(i) {
    const sop = this.stack[i].sop;
    return this.rendered.has(sop) || !isSupported(this.info(i));
  }

  /** focus makes i the slice to load first and the centre of what the cache keeps. */
  focus(i) {
    this.current = i;
    this.pump();
  }

  get loaded() {
    return this.frames.size;
  }

  pump() {
    while (this.inFlight < IN_FLIGHT && !this.signal.aborted) {
      const batch = this.nextBatch();
      if (!batch) return;
      this.load(batch);
    }
  }

  /** nextBatch picks the next request: the shown slice alone when missing (fastest first image), else a batch near it. */
  nextBatch() {
    const wanted = prefetchOrder(this.stack.length, this.current).filter((i) => this.wanted(i));
    if (!wanted.length) return null;
    if (wanted[0] === this.current) return [this.current];
    const far = Math.abs(wanted[0] - this.current);
    if (this.bytes >= BUDGET && far >= this.farthestCached()) return null;
    return batches(this.stack, wanted.slice(0, PER_REQUEST * IN_FLIGHT), PER_REQUEST)[0];
  }

  wanted(i) {
    const sop = this.stack[i].sop;
    return !this.frames.has(i) && !this.pending.has(i) && !this.failed.has(sop) && !this.needsRendered(i);
  }

  farthestCached() {
    let far = 0;
    for (const i of this.frames.keys()) far = Math.max(far, Math.abs(i - this.current));
    return far;
  }

  async load(batch) {
    const { sop } = this.stack[batch[0]];
    batch.forEach((i) => this.pending.add(i));
    this.inFlight++;
    try {
      const numbers = batch.map((i) => this.stack[i].frame);
      const parts = await api.frames(this.study, this.series, sop, numbers, { signal: this.signal });
      batch.forEach((i, k) => parts[k] && this.store(i, decodeFrame(parts[k].data, this.info(i))));
    } catch (err) {
      if (err.name === 'AbortError') return;
      if (err.status === 406) this.rendered.add(sop);
      else this.failed.add(sop);
      batch.forEach((i) => this.onFrame(i));
    } finally {
      batch.forEach((i) => this.pending.delete(i));
      this.inFlight--;
      this.pump();
    }
  }

  store(i, frame) {
    const old = this.frames.get(i);
    if (old) this.bytes -= old.bytes;
    this.frames.set(i, frame);
    this.bytes += frame.bytes;
    this.evict();
    this.onFrame(i);
    this.onProgress(this.frames.size, this.stack.length);
  }

  /** evict drops the frames farthest from the shown slice until the cache fits its budget. */
  evict() {
    if (this.bytes <= BUDGET) return;
    const byDistance = [...this.frames.keys()].sort((a, b) => Math.abs(b - this.current) - Math.abs(a - this.current));
    for (const i of byDistance) {
      if (this.bytes <= BUDGET || i === this.current) break;
      this.bytes -= this.frames.get(i).bytes;
      this.frames.delete(i);
    }
  }

  /**
   * loadRendered fetches entry i as a rendered image with the window in the request, and keeps it
   * as the entry's frame. Returns the frame, or null when a newer request replaced this one.
   */
  async loadRendered(i, win) {
    const key = `${win.center},${win.width}`;
    const have = this.frames.get(i);
    if (have && have.key === key) return have;
    const { sop, frame } = this.stack[i];
    const path = `${api.dicomweb(this.study, this.series, sop)}/frames/${frame}/rendered?window=${encodeURIComponent(key)}`;
    const url = await api.objectURL(path, { signal: this.signal, accept: 'image/png' });
    try {
      const image = new Image();
      image.src = url;
      await image.decode();
      const info = this.info(i);
      this.store(i, { kind: 'rendered', image, key, rows: image.naturalHeight, columns: image.naturalWidth, bytes: info.rows * info.columns * 4 });
      return this.frames.get(i);
    } finally {
      URL.revokeObjectURL(url);
    }
  }
}
