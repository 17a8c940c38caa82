// study.js: the study view: the series list, one, two or four viewports and the attribute panel,
// driven by mouse and keyboard. The shell imports it when the hash is #/study/<uid>; the layout and
// the series in each viewport live in the hash's query (layout=2&series=uid1,uid2).
import * as api from './api.js';
import { h, toast } from './ui.js';
import { T, str, formatDate } from './dicomjson.js';
import { buildStack } from './stack.js';
import { presets } from './pixels.js';
import { Viewport } from './viewport.js';
import { tools } from './image_tools.js';
import { SeriesList, seriesOf, DRAG_TYPE } from './image_series.js';
import { AttributePanel } from './attributes.js';
import { keyActions } from './image_keys.js';

export { shortcuts } from './image_keys.js';

const LAYOUTS = [1, 2, 4];

/**
 * showStudy renders the study into root and returns a function that tears it down (listeners,
 * cine, fetches in flight, thumbnail URLs). ctx: studyUID, params, me, navigate, setParams.
 */
export async function showStudy(root, ctx) {
  addStylesheet();
  const view = new StudyView(root, ctx);
  await view.start();
  return () => view.dispose();
}

/** addStylesheet links viewer.css once: the shell's page does not load it, so the list page stays light. */
function addStylesheet() {
  const href = new URL('../viewer.css', import.meta.url).href;
  if ([...document.querySelectorAll('link[rel=stylesheet]')].some((l) => l.href === href)) return;
  document.head.append(h('link', { rel: 'stylesheet', href }));
}

class StudyView {
  constructor(root, ctx) {
    this.ctx = ctx;
    this.study = ctx.studyUID;
    this.abort = new AbortController();
    this.started = performance.now();
    this.perf = { firstImageMs: null, sliceDrawMs: [], windowDrawMs: [] };
    window.__medimgPerf = this.perf;
    this.data = new Map(); // series UID → Promise of {stack, syntaxes}
    const role = ctx.me && ctx.me.role;
    this.seriesList = new SeriesList({
      study: this.study, signal: this.abort.signal, canDelete: role === 'editor' || role === 'admin',
      onPick: (uid) => this.showSeries(this.active, uid),
      onDeleted: (uid) => this.deleted(uid),
    });
    this.attributes = new AttributePanel();
    this.attributes.el.hidden = true;
    this.grid = h('div', { class: 'viewports' });
    this.viewports = [];
    this.title = h('div', { class: 'study-title' });
    this.bar = this.toolbar();
    this.el = h('section', { class: 'study-view' }, this.bar, h('div', { class: 'study-main' }, this.seriesList.el, this.grid, this.attributes.el));
    root.append(this.el);
    this.keys = keyActions(this);
    this.onKey = (e) => this.keys(e);
    document.addEventListener('keydown', this.onKey);
  }

  async start() {
    try {
      this.series = await seriesOf(this.study);
    } catch (err) {
      if (err.name !== 'AbortError') this.el.append(h('p', { class: 'study-error' }, 'This study could not be opened: ' + err.message));
      return;
    }
    if (!this.series.length) {
      this.grid.append(h('p', { class: 'study-empty' }, 'This study has no series.'));
      return;
    }
    const p = this.ctx.params || new URLSearchParams();
    const wanted = (p.get('series') || '').split(',').filter((uid) => this.series.some((s) => s.uid === uid));
    this.setLayout(Number(p.get('layout')) || 1, wanted);
    this.seriesList.render(this.series, this.shownSeries());
    this.whenFirstImage().then(() => this.seriesList.loadThumbnails());
  }

  /** whenFirstImage resolves once something is on screen (or after a second, whichever comes first). */
  whenFirstImage() {
    return new Promise((resolve) => {
      const t0 = performance.now();
      const check = () => (this.perf.firstImageMs !== null || performance.now() - t0 > 1000 || this.abort.signal.aborted ? resolve() : setTimeout(check, 30));
      check();
    });
  }

  toolbar() {
    const btn = (label, title, onclick, extra = {}) => h('button', { type: 'button', class: 'tb', title, onclick, ...extra }, label);
    this.layoutButtons = LAYOUTS.map((n) => btn(n === 1 ? '1' : n === 2 ? '1×2' : '2×2', `${n} viewport${n > 1 ? 's' : ''} (${n})`, () => this.setLayout(n), { 'data-layout': String(n) }));
    this.toolButtons = tools.map((t) => btn(t.label, `${t.label} tool (${t.key})`, () => this.setTool(t.name), { 'data-tool': t.name }));
    this.presetButtons = presets.CT.map((p) => btn(p.name, `${p.name} window ${p.center}/${p.width} (${p.key})`, () => this.preset(p), { 'data-preset': p.name }));
    this.cineButton = btn('▶ Cine', 'Play or pause (c or Space)', () => this.act((vp) => vp.toggleCine()));
    this.fpsLabel = h('span', { class: 'tb-fps', 'aria-live': 'polite' }, '15 fps');
    this.attrButton = btn('Attributes', 'DICOM attributes of the shown image (a)', () => this.toggleAttributes(), { 'aria-pressed': 'false' });
    const group = (label, ...items) => h('div', { class: 'tb-group', role: 'group', 'aria-label': label }, items);
    return h(
      'header',
      { class: 'study-bar' },
      btn('← Studies', 'Back to the study list', () => this.ctx.navigate && this.ctx.navigate('#/studies')),
      this.title,
      group('Layout', this.layoutButtons),
      group('Tool', this.toolButtons),
      group('Window presets', this.presetButtons, btn('Default', 'Stored window (d)', () => this.act((vp) => { vp.win = null; vp.invalidate('window'); }))),
      group(
        'View',
        btn('Fit', 'Fit to viewport (f)', () => this.act((vp) => vp.fit())),
        btn('1:1', 'One image pixel per screen pixel (o)', () => this.act((vp) => vp.oneToOne())),
        btn('Invert', 'Invert (i)', () => this.act((vp) => vp.toggleInvert())),
        btn('⟳ 90°', 'Rotate 90° clockwise (r)', () => this.act((vp) => vp.rotate())),
        btn('⇋', 'Flip horizontally (h)', () => this.act((vp) => vp.flip(true)), { 'aria-label': 'Flip horizontally' }),
        btn('⇵', 'Flip vertically (v)', () => this.act((vp) => vp.flip(false)), { 'aria-label': 'Flip vertically' }),
        btn('Reset', 'Reset the view (0)', () => this.act((vp) => vp.resetView())),
      ),
      group('Cine', this.cineButton, btn('−', 'Slower (-)', () => this.act((vp) => vp.setFps(vp.fps - 5)), { 'aria-label': 'Slower' }), this.fpsLabel, btn('+', 'Faster (+)', () => this.act((vp) => vp.setFps(vp.fps + 5)), { 'aria-label': 'Faster' })),
      this.attrButton,
    );
  }

  /** act runs f on the active viewport when it shows a series. */
  act(f) {
    if (this.active && this.active.loader) f(this.active);
  }

  setLayout(n, wanted = []) {
    if (!this.series || !this.series.length) return;
    if (!LAYOUTS.includes(n)) n = 1;
    while (this.viewports.length > n) this.viewports.pop().dispose();
    const before = this.viewports.length;
    while (this.viewports.length < n) this.viewports.push(this.newViewport());
    this.grid.replaceChildren(...this.viewports.map((vp) => vp.el));
    this.grid.dataset.layout = String(n);
    this.layoutButtons.forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.layout === String(n))));
    if (!this.viewports.includes(this.active)) this.activate(this.viewports[0]);
    // New viewports show the wanted series, else the next series not yet shown.
    for (let i = before; i < n; i++) {
      const shown = this.shownSeries();
      const next = wanted[i] || (this.series.find((s) => !shown.has(s.uid)) || this.series[i % this.series.length]).uid;
      this.showSeries(this.viewports[i], next);
    }
    this.saveParams();
  }

  newViewport() {
    const vp = new Viewport({
      study: this.study, signal: this.abort.signal, perf: this.perf, started: this.started,
      onActivate: (v) => this.activate(v),
      onChange: () => this.refreshBar(),
      onSlice: () => this.sliceChanged(),
    });
    vp.el.addEventListener('dragover', (e) => e.dataTransfer.types.includes(DRAG_TYPE) && e.preventDefault());
    vp.el.addEventListener('drop', (e) => {
      const uid = e.dataTransfer.getData(DRAG_TYPE);
      if (!uid) return;
      e.preventDefault();
      this.activate(vp);
      this.showSeries(vp, uid);
    });
    return vp;
  }

  activate(vp) {
    if (this.active === vp) return;
    this.active = vp;
    this.viewports.forEach((v) => v.el.classList.toggle('active', v === vp));
    this.refreshBar();
    this.sliceChanged();
  }

  /** seriesData fetches a series' metadata and transfer syntaxes once. */
  seriesData(uid) {
    if (!this.data.has(uid)) {
      const signal = this.abort.signal;
      const p = Promise.all([
        api.metadata(this.study, uid, { signal }),
        api.qido(api.dicomweb(this.study, uid) + '/instances').catch(() => ({ results: [] })),
      ]).then(([instances, { results }]) => ({
        stack: buildStack(instances),
        syntaxes: new Map(results.map((ds) => [str(ds, T.SOPInstanceUID), str(ds, '00083002')])),
      }));
      p.catch(() => this.data.delete(uid));
      this.data.set(uid, p);
    }
    return this.data.get(uid);
  }

  async showSeries(vp, uid) {
    if (!vp) return;
    vp.pendingSeries = uid;
    try {
      const { stack, syntaxes } = await this.seriesData(uid);
      if (vp.pendingSeries !== uid || !this.viewports.includes(vp)) return;
      vp.show(uid, stack, syntaxes);
      if (!this.title.textContent && stack.length) this.setTitle(stack[0].ds);
    } catch (err) {
      if (err.name !== 'AbortError') toast('The series could not be loaded: ' + err.message, 'error');
      return;
    }
    this.seriesList.render(this.series, this.shownSeries());
    this.saveParams();
    this.sliceChanged();
  }

  /** stepSeries shows the previous (−1) or next (+1) series of the list in the active viewport. */
  stepSeries(d) {
    const vp = this.active;
    if (!vp || !this.series || !this.series.length) return;
    const i = this.series.findIndex((s) => s.uid === vp.series);
    this.showSeries(vp, this.series[(i + d + this.series.length) % this.series.length].uid);
  }

  setTitle(ds) {
    this.title.textContent = `${str(ds, T.PatientName)} · ${formatDate(str(ds, T.StudyDate))} · ${str(ds, T.StudyDescription)}`;
  }

  shownSeries() {
    return new Set(this.viewports.map((vp) => vp.series || vp.pendingSeries).filter(Boolean));
  }

  saveParams() {
    if (!this.ctx.setParams) return;
    const p = new URLSearchParams();
    if (this.viewports.length > 1) p.set('layout', String(this.viewports.length));
    const uids = this.viewports.map((vp) => vp.series || vp.pendingSeries || '');
    if (uids.some(Boolean)) p.set('series', uids.join(','));
    this.ctx.setParams(p);
  }

  setTool(name) {
    this.tool = name;
    this.viewports.forEach((vp) => (vp.tool = name));
    this.refreshBar();
  }

  preset(p) {
    this.act((vp) => vp.setWindow(p.center, p.width));
  }

  refreshBar() {
    const vp = this.active;
    const tool = (vp && vp.tool) || 'window';
    this.toolButtons.forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.tool === tool)));
    this.cineButton.textContent = vp && vp.cine ? '❚❚ Pause' : '▶ Cine';
    this.fpsLabel.textContent = `${vp ? vp.fps : 15} fps`;
  }

  toggleAttributes() {
    this.attributes.el.hidden = !this.attributes.el.hidden;
    this.attrButton.setAttribute('aria-pressed', String(!this.attributes.el.hidden));
    this.sliceChanged();
  }

  /** sliceChanged refreshes the attribute panel, after scrolling pauses (a table per slice would slow it). */
  sliceChanged() {
    if (this.attributes.el.hidden) return;
    clearTimeout(this.attrTimer);
    this.attrTimer = setTimeout(() => {
      const e = this.active && this.active.entry;
      if (e && e.ds !== this.attributes.ds) this.attributes.show(e.ds);
    }, 80);
  }

  async deleted(uid) {
    this.data.delete(uid);
    this.series = this.series.filter((s) => s.uid !== uid);
    try {
      this.series = await seriesOf(this.study);
    } catch {
      // The list we have, less the deleted series, is still right.
    }
    for (const vp of this.viewports) {
      if (vp.series !== uid) continue;
      vp.clear();
      const other = this.series.find((s) => !this.shownSeries().has(s.uid));
      if (other) this.showSeries(vp, other.uid);
    }
    this.seriesList.render(this.series, this.shownSeries());
    this.saveParams();
  }

  dispose() {
    this.abort.abort();
    clearTimeout(this.attrTimer);
    document.removeEventListener('keydown', this.onKey);
    this.viewports.forEach((vp) => vp.dispose());
    this.seriesList.dispose();
    this.el.remove();
  }
}
