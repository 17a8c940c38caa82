// studylist.js: the study list: a search form whose values live in the route (#/studies?…) so
// that a search can be shared and Back returns to it, and a table of one page of QIDO-RS results,
// sortable within the page and driven by the keyboard.
import * as api from './api.js';
import { h, notice, toast, confirmDialog, isTyping } from './ui.js';
import { hashOf } from './router.js';
import { formToParams, paramsToForm, qidoParams, studyRow, sortRows, datePick, DATE_PICKS, PAGE_SIZE } from './query.js';

const COLUMNS = [
  ['patientName', 'Patient'],
  ['patientID', 'Patient ID'],
  ['birthDate', 'Birth date'],
  ['studyDate', 'Study date'],
  ['modalities', 'Modalities'],
  ['description', 'Description'],
  ['accession', 'Accession'],
  ['series', 'Series'],
  ['instances', 'Instances'],
];

const EDIT_ROLES = ['editor', 'admin'];

function field(id, label, input) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), input);
}

/** searchForm builds the form from the route's values and calls onSearch(values) on submit. */
function searchForm(values, onSearch) {
  const input = (name, attrs = {}) => h('input', { id: 'q-' + name, name, value: values[name] || '', autocomplete: 'off', ...attrs });
  const els = {
    PatientName: input('PatientName', { type: 'search', placeholder: 'doe*, jo?n', title: 'Wildcards * and ?; a name without them matches as a prefix' }),
    fuzzy: h('input', { id: 'q-fuzzy', type: 'checkbox', checked: values.fuzzy }),
    PatientID: input('PatientID'),
    AccessionNumber: input('AccessionNumber'),
    from: input('from', { type: 'date', value: values.from }),
    to: input('to', { type: 'date', value: values.to }),
    ModalitiesInStudy: input('ModalitiesInStudy', { placeholder: 'CT, MR', size: 6 }),
    StudyDescription: input('StudyDescription'),
  };
  const read = () => ({
    ...Object.fromEntries(Object.entries(els).map(([k, el]) => [k, el.type === 'checkbox' ? el.checked : el.value])),
    ModalitiesInStudy: els.ModalitiesInStudy.value.replace(/\s*,\s*/g, ','),
    offset: 0,
  });
  const pick = (name) => () => {
    const { from, to } = datePick(name);
    els.from.value = from;
    els.to.value = to;
    onSearch(read());
  };
  const picks = DATE_PICKS.map(([name, label]) => h('button', { type: 'button', class: 'chip', 'data-pick': name, onclick: pick(name) }, label));
  const form = h('form', { class: 'search', role: 'search', onsubmit: (e) => { e.preventDefault(); onSearch(read()); } },
    h('div', { class: 'field name' }, h('label', { for: 'q-PatientName' }, 'Patient name'), els.PatientName,
      h('label', { class: 'check', for: 'q-fuzzy' }, els.fuzzy, 'fuzzy')),
    field('q-PatientID', 'Patient ID', els.PatientID),
    field('q-AccessionNumber', 'Accession', els.AccessionNumber),
    field('q-ModalitiesInStudy', 'Modality', els.ModalitiesInStudy),
    field('q-StudyDescription', 'Description', els.StudyDescription),
    h('div', { class: 'field dates' }, h('label', { for: 'q-from' }, 'Study date'), h('span', { class: 'range' }, els.from, '–', els.to),
      h('span', { class: 'picks' }, picks)),
    h('div', { class: 'field submit' }, h('button', { type: 'submit', class: 'button primary' }, 'Search')));
  return { form, focus: () => els.PatientName.focus() };
}

/** showStudyList fills root with the search form and the results of the route's search. */
export async function showStudyList(root, ctx) {
  const values = paramsToForm(ctx.params);
  const canEdit = EDIT_ROLES.includes(ctx.me.role);
  const search = searchForm(values, (v) => ctx.navigate(hashOf('studies', formToParams(v))));
  const results = h('section', { class: 'results', 'aria-label': 'Studies', 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Searching…'));
  root.replaceChildren(search.form, results);
  let disposed = false;
  let table = null;

  function onKey(e) {
    if (e.key === '/' && !isTyping(e)) {
      e.preventDefault();
      search.focus();
    } else if (!table || e.altKey || e.ctrlKey || e.metaKey) {
      // not ours
    } else if (!isTyping(e)) {
      table.onKey(e);
    } else if (e.key === 'ArrowDown' && e.target.type !== 'date' && search.form.contains(e.target)) {
      // from a search field down into the results, as in a mail client
      e.target.blur();
      table.onKey(e);
    }
  }
  window.addEventListener('keydown', onKey);

  async function load() {
    let answer;
    try {
      answer = await api.qido('/dicomweb/studies', qidoParams(ctx.params));
    } catch (err) {
      if (!disposed) results.replaceChildren(loadError(err));
      return;
    }
    if (disposed) return;
    results.removeAttribute('aria-busy');
    const rows = answer.results.map(studyRow);
    if (!rows.length) {
      results.replaceChildren(notice('empty', values.offset ? 'No more studies.' : 'No studies match.'));
      return;
    }
    table = studyTable(rows, { ctx, canEdit, onDeleted: load });
    results.replaceChildren(table.el, pager(values, answer.more, ctx));
    window.__medimgPerf = { listDrawnMs: performance.now() - ctx.start };
  }

  await load();
  return () => {
    disposed = true;
    window.removeEventListener('keydown', onKey);
  };
}

function loadError(err) {
  if (err.status === 403) return notice('info', 'Your role may only upload. ', h('a', { href: '#/upload' }, 'Upload studies'));
  if (err.status === 401) return notice('info', 'Signed out.');
  return notice('error', 'The search failed: ' + err.message);
}

function pager(values, more, ctx) {
  const go = (offset) => () => ctx.navigate(hashOf('studies', formToParams({ ...values, offset })));
  const first = values.offset + 1;
  return h('nav', { class: 'pager', 'aria-label': 'Pages' },
    h('span', { class: 'muted' }, `From ${first}; sorting applies within this page`),
    values.offset > 0 && h('button', { type: 'button', class: 'button', onclick: go(Math.max(0, values.offset - PAGE_SIZE)) }, '← Previous'),
    more && h('button', { type: 'button', class: 'button', 'data-next': '', onclick: go(values.offset + PAGE_SIZE) }, 'Next →'));
}

/** studyTable draws rows and keeps the sort order and the keyboard selection. */
function studyTable(rows, { ctx, canEdit, onDeleted }) {
  let sort = { key: '', dir: 1 };
  let selected = -1;
  const tbody = h('tbody');
  const heads = COLUMNS.map(([key, label]) => h('th', { scope: 'col', 'aria-sort': 'none', dataset: { key } },
    h('button', { type: 'button', class: 'sort', onclick: () => sortBy(key) }, label)));
  const el = h('table', { class: 'studies' }, h('thead', {}, h('tr', {}, heads, h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))), tbody);

  function draw() {
    const shown = sort.key ? sortRows(rows, sort.key, sort.dir) : rows;
    tbody.replaceChildren(...shown.map((r) => studyRowElement(r, ctx, canEdit, onDeleted)));
    for (const th of heads) th.setAttribute('aria-sort', th.dataset.key !== sort.key ? 'none' : sort.dir > 0 ? 'ascending' : 'descending');
    select(selected);
  }
  function sortBy(key) {
    sort = { key, dir: sort.key === key ? -sort.dir : 1 };
    draw();
  }
  function select(i) {
    const trs = tbody.rows;
    selected = Math.max(-1, Math.min(i, trs.length - 1));
    for (const [n, tr] of Array.from(trs).entries()) tr.setAttribute('aria-selected', String(n === selected));
    if (selected >= 0) trs[selected].scrollIntoView({ block: 'nearest' });
  }
  function onKey(e) {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      select(selected + (e.key === 'ArrowDown' ? 1 : -1));
    } else if (e.key === 'Enter' && selected >= 0 && !(e.target instanceof HTMLButtonElement || e.target instanceof HTMLAnchorElement)) {
      e.preventDefault();
      ctx.navigate(hashOf('study', null, tbody.rows[selected].dataset.uid));
    }
  }
  draw();
  return { el, onKey };
}

function studyRowElement(r, ctx, canEdit, onDeleted) {
  const cells = COLUMNS.map(([key]) => h('td', { class: 'c-' + key }, key === 'patientName' ? h('a', { href: hashOf('study', null, r.uid) }, r.patientName || '(no name)') : r[key]));
  return h('tr', { dataset: { uid: r.uid } }, cells, h('td', { class: 'actions' },
    h('button', { type: 'button', class: 'button small', 'data-action': 'zip', title: 'Download the study as a ZIP of its DICOM files', onclick: (e) => downloadZip(e.currentTarget, r.uid) }, 'ZIP'),
    canEdit && h('button', { type: 'button', class: 'button small danger', 'data-action': 'delete', onclick: () => deleteStudy(r, onDeleted) }, 'Delete')));
}

async function downloadZip(button, uid) {
  button.disabled = true;
  try {
    await api.download(api.dicomweb(uid), 'application/zip', uid + '.zip');
  } catch (err) {
    toast('The download failed: ' + err.message, 'error');
  } finally {
    button.disabled = false;
  }
}

async function deleteStudy(r, onDeleted) {
  const who = [r.patientName, r.studyDate, r.description].filter(Boolean).join(', ');
  if (!(await confirmDialog(`Delete the study ${who ? '(' + who + ') ' : ''}and all its ${r.instances} instances? This cannot be undone.`, { confirmLabel: 'Delete', danger: true }))) return;
  try {
    await api.request(api.dicomweb(r.uid), { method: 'DELETE' });
    toast('Study deleted', 'success');
    onDeleted();
  } catch (err) {
    toast('The study was not deleted: ' + err.message, 'error');
  }
}
