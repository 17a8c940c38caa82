import test from 'node:test';
import assert from 'node:assert/strict';
import { formToParams, paramsToForm, qidoParams, datePick, formatPN, formatDA, studyRow, sortRows, PAGE_SIZE } from '../static/js/query.js';

const empty = { PatientName: '', PatientID: '', AccessionNumber: '', ModalitiesInStudy: '', StudyDescription: '', fuzzy: false, from: '', to: '', offset: 0 };

test('the form goes to the URL and back', () => {
  const cases = [
    ['nothing', {}, ''],
    ['name fuzzy', { PatientName: ' jo doe ', fuzzy: true }, 'PatientName=jo+doe&fuzzymatching=true'],
    ['fuzzy without a name is dropped', { fuzzy: true, PatientID: 'P1' }, 'PatientID=P1'],
    ['date range', { from: '2024-01-01', to: '2024-01-31' }, 'StudyDate=20240101-20240131'],
    ['one day', { from: '2024-01-02', to: '2024-01-02' }, 'StudyDate=20240102'],
    ['open range', { from: '2024-01-02' }, 'StudyDate=20240102-'],
    ['page', { ModalitiesInStudy: 'CT', offset: 50 }, 'ModalitiesInStudy=CT&offset=50'],
  ];
  for (const [name, values, want] of cases) {
    const p = formToParams({ ...empty, ...values });
    assert.equal(p.toString(), want, name);
    const back = paramsToForm(p);
    const expected = { ...empty, ...values };
    for (const k of Object.keys(expected)) if (typeof expected[k] === 'string') expected[k] = expected[k].trim();
    if (!expected.PatientName) expected.fuzzy = false;
    if (expected.from && !expected.to) expected.to = '';
    assert.deepEqual(back, expected, name);
  }
});

test('the URL becomes QIDO parameters', () => {
  const q = (s) => qidoParams(new URLSearchParams(s)).toString();
  assert.equal(q(''), `limit=${PAGE_SIZE}`);
  assert.equal(q('PatientName=doe'), 'PatientName=doe*&limit=50');
  assert.equal(q('PatientName=d%3Fe*'), 'PatientName=d%3Fe*&limit=50');
  assert.equal(q('PatientName=jo+doe&fuzzymatching=true'), 'PatientName=jo+doe&fuzzymatching=true&limit=50');
  assert.equal(q('PatientID=P1&AccessionNumber=A1&ModalitiesInStudy=mr'), 'PatientID=P1&AccessionNumber=A1&ModalitiesInStudy=MR&limit=50');
  assert.equal(q('StudyDescription=brain'), 'StudyDescription=*brain*&limit=50');
  assert.equal(q('StudyDate=20240101-&offset=100'), 'StudyDate=20240101-&limit=50&offset=100');
  assert.equal(q('offset=-5'), 'limit=50');
});

test('date quick picks count from a fixed today', () => {
  const today = new Date(2024, 2, 1); // 1 March 2024, after a leap day
  assert.deepEqual(datePick('today', today), { from: '2024-03-01', to: '2024-03-01' });
  assert.deepEqual(datePick('yesterday', today), { from: '2024-02-29', to: '2024-02-29' });
  assert.deepEqual(datePick('last7', today), { from: '2024-02-24', to: '2024-03-01' });
  assert.deepEqual(datePick('last30', today), { from: '2024-02-01', to: '2024-03-01' });
  assert.deepEqual(datePick('any', today), { from: '', to: '' });
});

test('person names and dates read well', () => {
  assert.equal(formatPN({ Alphabetic: 'Doe^John' }), 'Doe, John');
  assert.equal(formatPN({ Alphabetic: 'Doe^John^M^Dr^Jr' }), 'Doe, Dr John M Jr');
  assert.equal(formatPN({ Alphabetic: 'Anonymous' }), 'Anonymous');
  assert.equal(formatPN({ Alphabetic: '^Jane' }), 'Jane');
  assert.equal(formatPN({ Ideographic: '山田^太郎' }), '山田, 太郎');
  assert.equal(formatPN(undefined), '');
  assert.equal(formatDA('20240102'), '2024-01-02');
  assert.equal(formatDA(''), '');
  assert.equal(formatDA('2024'), '2024');
});

test('a QIDO study result becomes a row', () => {
  const row = studyRow({
    '0020000D': { vr: 'UI', Value: ['1.2.3'] },
    '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Doe^John' }] },
    '00100020': { vr: 'LO', Value: ['P1'] },
    '00080020': { vr: 'DA', Value: ['20240102'] },
    '00080061': { vr: 'CS', Value: ['CT', 'PT'] },
    '00201206': { vr: 'IS', Value: [2] },
    '00201208': { vr: 'IS', Value: [30] },
    '00081030': { vr: 'LO' },
  });
  assert.deepEqual(row, {
    uid: '1.2.3', patientName: 'Doe, John', patientID: 'P1', birthDate: '', studyDate: '2024-01-02', modalities: 'CT, PT',
    description: '', accession: '', series: 2, instances: 30,
  });
});

test('sorting puts empty values last either way', () => {
  const rows = [{ n: 'b', c: 10 }, { n: '', c: 2 }, { n: 'A', c: 9 }, { n: 'c2', c: 1 }, { n: 'c10', c: 3 }];
  assert.deepEqual(sortRows(rows, 'n', 1).map((r) => r.n), ['A', 'b', 'c2', 'c10', '']);
  assert.deepEqual(sortRows(rows, 'n', -1).map((r) => r.n), ['c10', 'c2', 'b', 'A', '']);
  assert.deepEqual(sortRows(rows, 'c', -1).map((r) => r.c), [10, 9, 3, 2, 1]);
  assert.deepEqual(rows[0], { n: 'b', c: 10 }, 'the input is left alone');
});
