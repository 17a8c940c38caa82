// image_series.js: the study's series as a list with thumbnails, to click or drag into a viewport,
// with download (everyone) and delete (editors and admins) actions.
import * as api from './api.js';
import { h, confirmDialog, toast } from './ui.js';
import { T, str, num } from './dicomjson.js';

/** DRAG_TYPE carries a series UID from the list to a viewport. */
export const DRAG_TYPE = 'application/x-medimg-series';

/** seriesOf returns the study's series from QIDO-RS, in series-number order. */
export async function seriesOf(study) {
  const { results } = await api.qido(api.dicomweb(study) + '/series');
  return results
    .map((ds) => ({
      uid: str(ds, T.SeriesInstanceUID),
      number: num(ds, T.SeriesNumber, 0),
      modality: str(ds, T.Modality),
      description: str(ds, T.SeriesDescription),
      count: num(ds, '00201209', 0),
    }))
    .sort((a, b) => a.number - b.number);
}

export class SeriesList {
  /** opts: study, canDelete, signal, onPick(uid), onDeleted(uid). */
  constructor(opts) {
    Object.assign(this, opts);
    this.urls = new Map(); // series UID → thumbnail blob: URL
    this.list = h('ul', { class: 'series-items' });
    this.el = h('aside', { class: 'series-list', 'aria-label': 'Series' }, this.list);
  }

  /** render lists series; shown is the set of UIDs in a viewport, marked as such. */
  render(series, shown = new Set()) {
    this.series = series;
    this.list.replaceChildren(...series.map((s) => this.item(s, shown.has(s.uid))));
  }

  item(s, shown) {
    const thumb = h('img', { class: 'series-thumb', alt: '', width: '64', height: '64', draggable: 'false' });
    if (this.urls.has(s.uid)) thumb.src = this.urls.get(s.uid);
    const pick = h(
      'button',
      { type: 'button', class: 'series-pick', draggable: 'true', title: 'Show in the active viewport (or drag to a viewport)', onclick: () => this.onPick(s.uid), ondragstart: (e) => e.dataTransfer.setData(DRAG_TYPE, s.uid) },
      thumb,
      h('span', { class: 'series-text' }, h('strong', {}, `${s.number || ''} ${s.description || '(no description)'}`), h('span', { class: 'series-meta' }, `${s.modality} · ${s.count} image${s.count === 1 ? '' : 's'}`)),
    );
    const download = h('button', { type: 'button', class: 'series-action', title: 'Download the series as ZIP', 'aria-label': 'Download series ' + s.number, onclick: () => this.download(s) }, '⤓');
    const del = this.canDelete && h('button', { type: 'button', class: 'series-action danger', title: 'Delete the series', 'aria-label': 'Delete series ' + s.number, onclick: () => this.remove(s) }, '✕');
    return h('li', { class: shown ? 'series-item shown' : 'series-item', dataset: { series: s.uid } }, pick, h('div', { class: 'series-actions' }, download, del));
  }

  /** loadThumbnails fetches the thumbnails after the first image, so they do not compete with it. */
  async loadThumbnails() {
    for (const s of this.series || []) {
      if (this.urls.has(s.uid) || this.signal.aborted) continue;
      try {
        const url = await api.objectURL(api.dicomweb(this.study, s.uid) + '/thumbnail', { signal: this.signal });
        if (this.signal.aborted) {
          URL.revokeObjectURL(url);
          return;
        }
        this.urls.set(s.uid, url);
        const img = this.list.querySelector(`[data-series="${CSS.escape(s.uid)}"] img`);
        if (img) img.src = url;
      } catch {
        // No thumbnail (an unsupported syntax, say): the text says enough.
      }
    }
  }

  async download(s) {
    try {
      await api.download(api.dicomweb(this.study, s.uid), 'application/zip', s.uid + '.zip');
    } catch (err) {
      toast('Download failed: ' + err.message, 'error');
    }
  }

  async remove(s) {
    const ok = await confirmDialog(`Delete series ${s.number} “${s.description || s.uid}” (${s.count} images)? This cannot be undone.`, { confirmLabel: 'Delete series', danger: true });
    if (!ok) return;
    try {
      await api.request(api.dicomweb(this.study, s.uid), { method: 'DELETE' });
      toast(`Series ${s.number} deleted`, 'success');
      this.onDeleted(s.uid);
    } catch (err) {
      toast('Delete failed: ' + err.message, 'error');
    }
  }

  dispose() {
    for (const url of this.urls.values()) URL.revokeObjectURL(url);
    this.urls.clear();
  }
}
