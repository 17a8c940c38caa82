// attributes.js: the DICOM attributes of the shown instance as a searchable table: tag, keyword,
// VR and value; sequences open as nested tables; bulk data is named, never fetched. The dictionary
// is imported only when the panel first opens.
import { h } from './ui.js';
import { personName } from './dicomjson.js';

let dictionary = null;

/** loadDictionary imports the tag dictionary once. */
function loadDictionary() {
  dictionary ||= import('./dictionary.js');
  return dictionary;
}

/** formatTag turns "00100010" into "(0010,0010)". */
export function formatTag(tag) {
  return `(${tag.slice(0, 4)},${tag.slice(4)})`;
}

/** formatValue is the readable value of a non-sequence element. */
export function formatValue(el) {
  if (el.BulkDataURI) return 'bulk data';
  if (el.InlineBinary) return `binary, ${Math.floor((el.InlineBinary.length * 3) / 4)} bytes`;
  const vs = el.Value || [];
  return vs.map((v) => (v && typeof v === 'object' ? personName(v) : String(v))).join(' \\ ');
}

/**
 * AttributePanel renders datasets into container. filter keeps the rows whose tag, keyword or
 * value contains the text (a sequence is kept when one of its items matches).
 */
export class AttributePanel {
  constructor() {
    this.search = h('input', { type: 'search', class: 'attr-search', placeholder: 'Filter by tag, keyword or value', 'aria-label': 'Filter attributes', oninput: () => this.render() });
    this.body = h('div', { class: 'attr-body' });
    this.el = h('aside', { class: 'attributes', 'aria-label': 'DICOM attributes' }, h('h2', {}, 'Attributes'), this.search, this.body);
    this.ds = null;
  }

  async show(ds) {
    this.ds = ds;
    this.lookup = (await loadDictionary()).lookup;
    this.render();
  }

  render() {
    if (!this.ds || !this.lookup) return;
    const q = this.search.value.trim().toLowerCase().replace(/[(),]/g, '');
    this.body.replaceChildren(this.table(this.ds, q));
  }

  table(ds, q) {
    const rows = Object.keys(ds).sort().map((tag) => this.row(tag, ds[tag], q)).filter(Boolean);
    return h('table', { class: 'attr-table' }, h('tbody', {}, rows));
  }

  row(tag, el, q) {
    const entry = this.lookup(tag);
    const keyword = entry ? entry.keyword : tag.slice(4, 8) === '0000' ? 'GroupLength' : '';
    const cells = [h('td', { class: 'attr-tag' }, formatTag(tag)), h('td', { class: 'attr-kw', title: entry ? entry.name : '' }, keyword), h('td', { class: 'attr-vr' }, el.vr || '')];
    if (el.vr === 'SQ') {
      const items = (el.Value || []).map((item, i) => h('details', {}, h('summary', {}, `Item ${i + 1}`), this.table(item, '')));
      const matches = !q || this.matches(tag, keyword, '', q) || (el.Value || []).some((item) => JSON.stringify(item).toLowerCase().includes(q));
      if (!matches) return null;
      return h('tr', {}, cells, h('td', { class: 'attr-value' }, h('details', {}, h('summary', {}, `${items.length} item${items.length === 1 ? '' : 's'}`), items)));
    }
    const value = formatValue(el);
    if (q && !this.matches(tag, keyword, value, q)) return null;
    const shown = el.BulkDataURI ? h('span', { class: 'attr-bulk', title: el.BulkDataURI }, value) : value;
    return h('tr', {}, cells, h('td', { class: 'attr-value' }, shown));
  }

  matches(tag, keyword, value, q) {
    return tag.toLowerCase().includes(q) || keyword.toLowerCase().includes(q) || value.toLowerCase().includes(q);
  }
}
