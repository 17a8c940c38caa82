// query.js: the study search (pure; no DOM): the form's values, the route's query string (what a
// shared link holds) and the QIDO-RS parameters sent to the server, plus the formatting and
// sorting of the results table.

/** PAGE_SIZE is the number of studies per page of the list. */
export const PAGE_SIZE = 50;

/** TEXT_KEYS are the text fields of the form, named by their QIDO keyword (also their URL name). */
export const TEXT_KEYS = ['PatientName', 'PatientID', 'AccessionNumber', 'ModalitiesInStudy', 'StudyDescription'];

const WILDCARD = /[*?]/;

/** isoDate formats a Date as YYYY-MM-DD in local time (what <input type=date> holds). */
export function isoDate(d) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** DATE_PICKS are the quick date ranges, as [name, label]. */
export const DATE_PICKS = [
  ['today', 'Today'],
  ['yesterday', 'Yesterday'],
  ['last7', 'Last 7 days'],
  ['last30', 'Last 30 days'],
  ['any', 'Any'],
];

/** datePick returns the {from, to} (YYYY-MM-DD, '' for open) of a quick pick, relative to today. */
export function datePick(name, today = new Date()) {
  const daysAgo = (n) => isoDate(new Date(today.getFullYear(), today.getMonth(), today.getDate() - n));
  switch (name) {
    case 'today':
      return { from: daysAgo(0), to: daysAgo(0) };
    case 'yesterday':
      return { from: daysAgo(1), to: daysAgo(1) };
    case 'last7':
      return { from: daysAgo(6), to: daysAgo(0) };
    case 'last30':
      return { from: daysAgo(29), to: daysAgo(0) };
    default:
      return { from: '', to: '' };
  }
}

const compact = (iso) => iso.replaceAll('-', '');
const expand = (da) => (/^\d{8}$/.test(da) ? `${da.slice(0, 4)}-${da.slice(4, 6)}-${da.slice(6)}` : '');

/**
 * formToParams turns the form's values ({PatientName, fuzzy, PatientID, …, from, to, offset}) into
 * the route's query: only what is set, the dates as one QIDO range (StudyDate=20240101-20240131),
 * so that the URL is short and reads like the search it stands for.
 */
export function formToParams(values) {
  const p = new URLSearchParams();
  for (const k of TEXT_KEYS) {
    const v = (values[k] || '').trim();
    if (v) p.set(k, v);
  }
  if (values.fuzzy && p.has('PatientName')) p.set('fuzzymatching', 'true');
  const from = values.from ? compact(values.from) : '';
  const to = values.to ? compact(values.to) : '';
  if (from || to) p.set('StudyDate', from === to ? from : `${from}-${to}`);
  if (values.offset > 0) p.set('offset', String(values.offset));
  return p;
}

/** paramsToForm is the inverse of formToParams. */
export function paramsToForm(params) {
  const values = { fuzzy: params.get('fuzzymatching') === 'true', from: '', to: '', offset: Math.max(0, parseInt(params.get('offset'), 10) || 0) };
  for (const k of TEXT_KEYS) values[k] = params.get(k) || '';
  const date = params.get('StudyDate') || '';
  const [from, to = from] = date.split('-');
  values.from = expand(from);
  values.to = expand(to);
  return values;
}

/**
 * qidoParams turns the route's query into the QIDO-RS search: a name without wildcards matches as
 * a prefix ("doe" finds "Doe^John"), a description anywhere in it; IDs and accession numbers match
 * exactly unless wildcards are typed. Every column of the table is among the study attributes the
 * server returns by default, so no includefield is needed.
 */
export function qidoParams(params) {
  const values = paramsToForm(params);
  const q = new URLSearchParams();
  const name = values.PatientName;
  if (name) q.set('PatientName', values.fuzzy || WILDCARD.test(name) ? name : name + '*');
  if (values.fuzzy && name) q.set('fuzzymatching', 'true');
  for (const k of ['PatientID', 'AccessionNumber']) if (values[k]) q.set(k, values[k]);
  if (values.ModalitiesInStudy) q.set('ModalitiesInStudy', values.ModalitiesInStudy.toUpperCase());
  const desc = values.StudyDescription;
  if (desc) q.set('StudyDescription', WILDCARD.test(desc) ? desc : `*${desc}*`);
  if (params.get('StudyDate')) q.set('StudyDate', params.get('StudyDate'));
  q.set('limit', String(PAGE_SIZE));
  if (values.offset) q.set('offset', String(values.offset));
  return q;
}

/** formatPN makes a DICOM JSON person name readable: {Alphabetic: "Doe^John^M^Dr"} → "Doe, Dr John M". */
export function formatPN(pn) {
  const alphabetic = (pn && (pn.Alphabetic || pn.Ideographic || pn.Phonetic)) || '';
  const [family = '', given = '', middle = '', prefix = '', suffix = ''] = alphabetic.split('^').map((s) => s.trim());
  const rest = [prefix, given, middle, suffix].filter(Boolean).join(' ');
  return family && rest ? `${family}, ${rest}` : family || rest;
}

/** formatDA formats a DICOM date (YYYYMMDD) as YYYY-MM-DD; other values are returned as they are. */
export function formatDA(da) {
  return expand(da || '') || da || '';
}

function values(ds, tag) {
  return (ds[tag] && ds[tag].Value) || [];
}

function first(ds, tag) {
  const v = values(ds, tag)[0];
  return v === undefined || v === null ? '' : v;
}

/** studyRow reads one QIDO study result (DICOM JSON) into the fields of a table row. */
export function studyRow(ds) {
  return {
    uid: first(ds, '0020000D'),
    patientName: formatPN(first(ds, '00100010')),
    patientID: String(first(ds, '00100020')),
    birthDate: formatDA(first(ds, '00100030')),
    studyDate: formatDA(first(ds, '00080020')),
    modalities: values(ds, '00080061').join(', '),
    description: String(first(ds, '00081030')),
    accession: String(first(ds, '00080050')),
    series: Number(first(ds, '00201206')) || 0,
    instances: Number(first(ds, '00201208')) || 0,
  };
}

/**
 * sortRows returns rows sorted by key (a field of studyRow), dir 1 ascending or -1 descending:
 * numbers as numbers, text by locale ignoring case, empty values last in both directions.
 */
export function sortRows(rows, key, dir = 1) {
  const collator = new Intl.Collator(undefined, { sensitivity: 'base', numeric: true });
  return [...rows].sort((a, b) => {
    const x = a[key];
    const y = b[key];
    const ex = x === '' || x === undefined;
    const ey = y === '' || y === undefined;
    if (ex || ey) return ex - ey;
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : collator.compare(String(x), String(y));
    return c * dir;
  });
}
