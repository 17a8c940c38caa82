// viewport.js: one image viewport: a stack of frames drawn on a canvas with a view transform
// (zoom, pan, rotation, flips), windowed in the browser, with a slider, cine, a distance tool,
// a prefetch progress bar and the text overlay a reading room expects.
import { h } from './ui.js';
import { T, str, nums, formatDate } from './dicomjson.js';
import { windowLUT, renderMono, defaultWindow } from './pixels.js';
import { FrameLoader } from './image_loader.js';
import { attachTools } from './image_tools.js';

/** RENDER_DEBOUNCE_MS: a window drag re-requests a rendered (server-windowed) frame only once it pauses. */
const RENDER_DEBOUNCE_MS = 150;

export class Viewport {
  /**
   * opts: study (UID), signal, perf (the shared speed figures), started (performance.now() when the
   * study was opened), onActivate(viewport), onChange() (cine, fps), onSlice() (another image shown).
   */
  constructor(opts) {
    Object.assign(this, opts);
    this.canvas = h('canvas', { class: 'vp-canvas', tabindex: '-1' });
    this.ctx = this.canvas.getContext('2d');
    this.off = document.createElement('canvas');
    this.offCtx = this.off.getContext('2d');
    this.overlay = { tl: h('div', { class: 'vp-ol tl' }), tr: h('div', { class: 'vp-ol tr' }), bl: h('div', { class: 'vp-ol bl' }), br: h('div', { class: 'vp-ol br' }) };
    this.status = h('div', { class: 'vp-status', role: 'status' });
    this.progress = h('div', { class: 'vp-progress' });
    this.slider = h('input', { type: 'range', class: 'vp-slider', min: '0', max: '0', value: '0', 'aria-label': 'Slice', oninput: () => this.setIndex(Number(this.slider.value)) });
    this.el = h('div', { class: 'viewport', dataset: { empty: '' } }, this.canvas, Object.values(this.overlay), this.status, h('div', { class: 'vp-progress-track' }, this.progress), this.slider);
    this.tool = 'window';
    this.fps = 15;
    this.stack = [];
    this.measures = [];
    this.resetView();
    this.detachTools = attachTools(this);
    this.resize = new ResizeObserver(() => this.fitCanvas());
    this.resize.observe(this.el);
  }

  /** show puts a series in the viewport: instances are its metadata, syntaxes a Map sop → transfer syntax. */
  show(series, stack, syntaxes) {
    this.stopCine();
    this.series = series;
    this.stack = stack;
    this.index = 0;
    this.measures = [];
    this.resetView();
    delete this.el.dataset.empty;
    this.el.dataset.series = series;
    this.loader = new FrameLoader({
      study: this.study, series, stack, syntaxes, signal: this.signal,
      onFrame: (i) => i === this.index && this.invalidate('slice'),
      onProgress: (n, total) => this.showProgress(n, total),
    });
    this.slider.max = String(Math.max(stack.length - 1, 0));
    this.slider.value = '0';
    this.loader.focus(0);
    this.invalidate('slice');
  }

  /** clear empties the viewport (its series was deleted). */
  clear() {
    this.stopCine();
    this.series = null;
    this.stack = [];
    this.loader = null;
    this.el.dataset.empty = '';
    delete this.el.dataset.series;
    this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    Object.values(this.overlay).forEach((o) => (o.textContent = ''));
    this.status.textContent = '';
  }

  get entry() {
    return this.stack[this.index];
  }

  setIndex(i) {
    if (!this.stack.length) return;
    const next = Math.min(Math.max(Math.round(i), 0), this.stack.length - 1);
    if (next === this.index) return;
    this.index = next;
    this.slider.value = String(next);
    this.loader.focus(next);
    this.invalidate('slice');
    this.onSlice();
  }

  scroll(delta) {
    this.setIndex(this.index + delta);
  }

  /** resetView returns to the stored window, fit to the viewport, no rotation, flips or inversion. */
  resetView() {
    this.win = null;
    this.invert = false;
    this.rotation = 0;
    this.flipH = false;
    this.flipV = false;
    this.zoom = null; // null: fit
    this.pan = { x: 0, y: 0 };
    this.invalidate('view');
  }

  setWindow(center, width) {
    this.win = { center, width: Math.max(1, width) };
    this.invalidate('window');
  }

  /** window is what the current frame is windowed with: the user's, else the frame's default. */
  window() {
    if (this.win) return this.win;
    const frame = this.loader && this.loader.get(this.index);
    return this.loader ? defaultWindow(this.loader.info(this.index), frame) : { center: 128, width: 256 };
  }

  fit() {
    this.zoom = null;
    this.pan = { x: 0, y: 0 };
    this.invalidate('view');
  }

  oneToOne() {
    this.zoom = 1;
    this.invalidate('view');
  }

  zoomBy(factor, at) {
    const before = this.scale();
    this.zoom = Math.min(Math.max(before * factor, 0.05), 40);
    if (at) {
      // Keep the point under the cursor where it is.
      const k = this.zoom / before;
      const cx = this.canvas.width / 2 + this.pan.x;
      const cy = this.canvas.height / 2 + this.pan.y;
      this.pan.x += (at.x - cx) * (1 - k);
      this.pan.y += (at.y - cy) * (1 - k);
    }
    this.invalidate('view');
  }

  rotate() {
    this.rotation = (this.rotation + 1) % 4;
    this.invalidate('view');
  }

  flip(horizontal) {
    if (horizontal) this.flipH = !this.flipH;
    else this.flipV = !this.flipV;
    this.invalidate('view');
  }

  toggleInvert() {
    this.invert = !this.invert;
    this.invalidate('window');
  }

  toggleCine() {
    if (this.cine) this.stopCine();
    else if (this.stack.length > 1) this.startCine();
    this.onChange();
  }

  startCine() {
    let last = performance.now();
    const tick = (now) => {
      if (now - last >= 1000 / this.fps) {
        last = now;
        // Wait on a frame still loading rather than skip past it.
        if (this.loader.get(this.index)) this.setIndex((this.index + 1) % this.stack.length);
      }
      this.cine = requestAnimationFrame(tick);
    };
    this.cine = requestAnimationFrame(tick);
  }

  stopCine() {
    if (this.cine) cancelAnimationFrame(this.cine);
    this.cine = null;
  }

  setFps(fps) {
    this.fps = Math.min(Math.max(fps, 1), 60);
    this.onChange();
  }

  /** invalidate asks for a redraw at the next animation frame; why is recorded for the speed figures. */
  invalidate(why) {
    if (!this.why || why === 'slice') this.why = why;
    if (this.raf) return;
    this.raf = requestAnimationFrame(() => {
      this.raf = 0;
      const started = performance.now();
      const why = this.why;
      this.why = null;
      if (this.draw()) this.record(why, performance.now() - started);
    });
  }

  record(why, ms) {
    const perf = this.perf;
    if (perf.firstImageMs === null) perf.firstImageMs = Math.round(performance.now() - this.started);
    else if (why === 'slice') perf.sliceDrawMs.push(ms);
    else if (why === 'window') perf.windowDrawMs.push(ms);
  }

  fitCanvas() {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(this.el.clientWidth * dpr));
    const ht = Math.max(1, Math.round(this.el.clientHeight * dpr));
    if (this.canvas.width === w && this.canvas.height === ht) return;
    this.canvas.width = w;
    this.canvas.height = ht;
    this.invalidate('view');
  }

  /** draw paints the current frame; false when there is nothing to paint yet. */
  draw() {
    if (!this.loader || !this.entry) return false;
    const frame = this.loader.get(this.index);
    this.writeOverlay();
    if (this.loader.needsRendered(this.index) && (!frame || frame.key !== this.windowKey())) this.requestRendered();
    if (!frame) {
      this.status.textContent = this.loader.failed.has(this.entry.sop) ? 'This image could not be loaded.' : 'Loading…';
      return false;
    }
    this.status.textContent = '';
    this.paint(this.source(frame), frame.columns, frame.rows);
    return true;
  }

  windowKey() {
    const w = this.window();
    return `${w.center},${w.width}`;
  }

  /** source is a drawable of the frame: decoded pixels go through the window LUT into the offscreen canvas. */
  source(frame) {
    if (frame.kind === 'rendered') return frame.image;
    if (this.off.width !== frame.columns || this.off.height !== frame.rows) {
      this.off.width = frame.columns;
      this.off.height = frame.rows;
      this.imageData = null;
    }
    this.imageData ||= this.offCtx.createImageData(frame.columns, frame.rows);
    if (frame.kind === 'rgb') this.imageData.data.set(frame.rgba);
    else renderMono(frame, this.lut(frame), new Uint32Array(this.imageData.data.buffer));
    this.offCtx.putImageData(this.imageData, 0, 0);
    return this.off;
  }

  /** lut returns the lookup table for the frame's instance and the window, rebuilt only when one changes. */
  lut(frame) {
    const info = this.loader.info(this.index);
    const w = this.window();
    const key = [this.entry.sop, w.center, w.width, this.invert].join();
    if (this.lutKey !== key) {
      this.lutKey = key;
      this.lutTable = windowLUT(info, w, this.invert);
    }
    return this.lutTable;
  }

  requestRendered() {
    clearTimeout(this.renderTimer);
    const i = this.index;
    const win = this.window();
    const delay = this.loader.get(i) ? RENDER_DEBOUNCE_MS : 0;
    this.renderTimer = setTimeout(() => {
      this.loader.loadRendered(i, win).catch((err) => {
        if (err.name !== 'AbortError') this.status.textContent = 'This image could not be rendered.';
      });
    }, delay);
  }

  scale() {
    if (this.zoom) return this.zoom;
    const e = this.entry;
    const info = e && this.loader.info(this.index);
    if (!info || !info.rows) return 1;
    const [w, ht] = this.rotation % 2 ? [info.rows, info.columns] : [info.columns, info.rows];
    return Math.min(this.canvas.width / w, this.canvas.height / ht);
  }

  /** matrix maps image pixels to canvas pixels. */
  matrix(w, ht) {
    const s = this.scale();
    return new DOMMatrix()
      .translateSelf(this.canvas.width / 2 + this.pan.x, this.canvas.height / 2 + this.pan.y)
      .rotateSelf(this.rotation * 90)
      .scaleSelf(this.flipH ? -s : s, this.flipV ? -s : s)
      .translateSelf(-w / 2, -ht / 2);
  }

  paint(src, w, ht) {
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.m = this.matrix(w, ht);
    ctx.setTransform(this.m);
    // Past 2× a radiologist wants to see the pixels, not a blur.
    ctx.imageSmoothingEnabled = this.scale() < 2;
    ctx.drawImage(src, 0, 0);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    this.drawMeasures();
  }

  /** toImage maps a point of the canvas (device pixels) to image pixels. */
  toImage(p) {
    return this.m ? this.m.inverse().transformPoint(p) : null;
  }

  /** addPoint is a click of the distance tool: the first starts a measure, the second ends it. */
  addPoint(p) {
    const q = this.toImage(p);
    if (!q) return;
    const open = this.measures.find((m) => m.index === this.index && !m.b);
    if (open) open.b = { x: q.x, y: q.y };
    else this.measures.push({ index: this.index, a: { x: q.x, y: q.y }, b: null });
    this.invalidate('view');
  }

  /** lengthMM is the distance in mm from PixelSpacing (row spacing, column spacing), or null without it. */
  lengthMM(m) {
    const ps = nums(this.entry.ds, T.PixelSpacing);
    if (!ps || ps.length < 2 || !m.b) return null;
    return Math.hypot((m.b.x - m.a.x) * ps[1], (m.b.y - m.a.y) * ps[0]);
  }

  drawMeasures() {
    const ctx = this.ctx;
    const dpr = window.devicePixelRatio || 1;
    ctx.strokeStyle = ctx.fillStyle = '#ffd54a';
    ctx.lineWidth = 1.5 * dpr;
    ctx.font = `${13 * dpr}px system-ui, sans-serif`;
    for (const m of this.measures.filter((x) => x.index === this.index)) {
      const a = this.m.transformPoint(m.a);
      const b = this.m.transformPoint(m.b || m.a);
      ctx.beginPath();
      ctx.arc(a.x, a.y, 3 * dpr, 0, 2 * Math.PI);
      ctx.moveTo(a.x, a.y);
      ctx.lineTo(b.x, b.y);
      ctx.stroke();
      const mm = this.lengthMM(m);
      if (m.b) ctx.fillText(mm === null ? `${Math.round(Math.hypot(m.b.x - m.a.x, m.b.y - m.a.y))} px` : `${mm.toFixed(1)} mm`, b.x + 6 * dpr, b.y - 6 * dpr);
    }
  }

  writeOverlay() {
    const ds = this.entry.ds;
    const w = this.window();
    const e = this.entry;
    this.overlay.tl.textContent = `${str(ds, T.PatientName)}\n${str(ds, T.PatientID)}`;
    this.overlay.tr.textContent = `${formatDate(str(ds, T.StudyDate))}\n${str(ds, T.StudyDescription)}`;
    const frame = e.frames > 1 ? `  Frame ${e.frame}/${e.frames}` : '';
    this.overlay.bl.textContent = `Se ${str(ds, T.SeriesNumber)} ${str(ds, T.SeriesDescription)}\nIm ${str(ds, T.InstanceNumber)}${frame}  (${this.index + 1}/${this.stack.length})`;
    this.overlay.br.textContent = `C ${Math.round(w.center)} W ${Math.round(w.width)}${this.invert ? ' inv' : ''}\nZoom ${Math.round(this.scale() * 100)}%${this.cine ? `  ▶ ${this.fps} fps` : ''}`;
  }

  showProgress(n, total) {
    const pct = total ? Math.round((100 * n) / total) : 0;
    this.progress.style.width = pct + '%';
    this.progress.parentElement.title = `${n} of ${total} frames loaded`;
    this.progress.parentElement.dataset.done = String(n >= total);
  }

  dispose() {
    this.stopCine();
    cancelAnimationFrame(this.raf);
    clearTimeout(this.renderTimer);
    this.detachTools();
    this.resize.disconnect();
  }
}
