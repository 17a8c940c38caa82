// upload.js: the upload page: files or whole folders (dropped anywhere, or picked) are checked for
// the DICM mark, sent by STOW-RS in batches with a few requests in flight, and every file gets its
// outcome. Requests go by XMLHttpRequest rather than api.request, because fetch reports no upload
// progress and api.request hides the Store Instances Response of a 409; the credentials and the
// 401 event are those of api.js.
import * as api from './api.js';
import { h, notice } from './ui.js';
import { isDicom, batches, newBoundary, contentType, multipartBody, storeOutcomes } from './stow.js';

const IN_FLIGHT = 3;
const STORE_ROLES = ['sender', 'editor', 'admin'];
const LABELS = { stored: 'Stored', duplicate: 'Already stored', failed: 'Failed', skipped: 'Not DICOM (skipped)' };

/** droppedFiles reads a drop's files and folders (recursively) as [{file, name}]; call it during the drop event, as its items expire afterwards. */
export function droppedFiles(dataTransfer) {
  const entries = Array.from(dataTransfer.items || [])
    .map((item) => item.kind === 'file' && item.webkitGetAsEntry && item.webkitGetAsEntry())
    .filter(Boolean);
  if (!entries.length) return Promise.resolve(Array.from(dataTransfer.files || [], (file) => ({ file, name: file.name })));
  return Promise.all(entries.map(entryFiles)).then((lists) => lists.flat());
}

async function entryFiles(entry) {
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    return [{ file, name: entry.fullPath.replace(/^\//, '') }];
  }
  const reader = entry.createReader();
  const children = [];
  // readEntries answers in chunks (100 in Chromium) until it answers none.
  for (;;) {
    const chunk = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (!chunk.length) break;
    children.push(...chunk);
  }
  return (await Promise.all(children.map(entryFiles))).flat();
}

/** sendBatch stores one batch of [{file}] and resolves to one outcome per file (it never rejects). */
function sendBatch(batch, onProgress) {
  return new Promise((resolve) => {
    const boundary = newBoundary();
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/dicomweb/studies');
    xhr.setRequestHeader('Content-Type', contentType(boundary));
    xhr.setRequestHeader('Accept', 'application/dicom+json');
    xhr.setRequestHeader('X-Requested-With', 'XMLHttpRequest');
    if (api.token()) xhr.setRequestHeader('Authorization', 'Bearer ' + api.token());
    xhr.upload.addEventListener('progress', (e) => onProgress(e.loaded));
    xhr.addEventListener('load', () => {
      if (xhr.status === 401) window.dispatchEvent(new CustomEvent('medimg:unauthorized'));
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // no JSON: the status says enough
      }
      resolve(storeOutcomes(batch.length, xhr.status, body, xhr.getResponseHeader('Warning')));
    });
    xhr.addEventListener('error', () => resolve(batch.map(() => ({ outcome: 'failed', message: 'the connection to the server failed' }))));
    xhr.send(multipartBody(batch.map((f) => f.file), boundary));
  });
}

/** progressView shows files and bytes done of those queued. */
function progressView() {
  const bar = h('progress', { max: 1, value: 0, 'aria-label': 'Upload progress' });
  const text = h('span', { class: 'muted', 'aria-live': 'polite' });
  const totals = { files: 0, bytes: 0, doneFiles: 0, doneBytes: 0 };
  const el = h('div', { class: 'progress' }, bar, text);
  function show(extraBytes = 0) {
    const bytes = Math.min(totals.doneBytes + extraBytes, totals.bytes);
    bar.max = totals.bytes || 1;
    bar.value = bytes;
    text.textContent = `${totals.doneFiles} of ${totals.files} files, ${mb(bytes)} of ${mb(totals.bytes)}`;
  }
  return { el, totals, show };
}

function mb(bytes) {
  return (bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0) + ' MB';
}

/** showUpload fills root with the upload page. */
export function showUpload(root, ctx) {
  const canStore = STORE_ROLES.includes(ctx.me.role);
  const pickFiles = h('input', { id: 'upload-files', type: 'file', multiple: true, class: 'sr-only', onchange: onPick });
  const pickFolder = h('input', { id: 'upload-folder', type: 'file', webkitdirectory: true, class: 'sr-only', onchange: onPick });
  const progress = progressView();
  const summary = h('p', { class: 'summary', 'aria-live': 'polite' });
  const tbody = h('tbody');
  const results = h('table', { class: 'outcomes', hidden: true }, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'File'), h('th', { scope: 'col' }, 'Outcome'), h('th', { scope: 'col' }, 'Details'))), tbody);
  const counts = { stored: 0, duplicate: 0, failed: 0, skipped: 0 };
  root.replaceChildren(
    h('h1', {}, 'Upload'),
    canStore ? '' : notice('info', 'Your role may not store studies; the server will refuse the files.'),
    h('div', { class: 'dropzone' },
      h('p', {}, 'Drop DICOM files or folders anywhere on the page, or choose them:'),
      h('p', { class: 'pickers' }, pickFiles, h('label', { for: 'upload-files', class: 'button primary', tabindex: '0', onkeydown: clickOnKey }, 'Choose files…'),
        pickFolder, h('label', { for: 'upload-folder', class: 'button', tabindex: '0', onkeydown: clickOnKey }, 'Choose a folder…')),
      h('p', { class: 'muted' }, 'Files without the DICM mark are skipped. Studies are sent in batches of up to 20 files or 50 MB.')),
    progress.el, summary, results);

  function onPick(e) {
    const files = Array.from(e.target.files, (file) => ({ file, name: file.webkitRelativePath || file.name }));
    e.target.value = '';
    upload(files);
  }
  const onFiles = (e) => upload(e.detail);
  window.addEventListener('medimg:files', onFiles);

  function record(item, { outcome, message }) {
    counts[outcome]++;
    tbody.append(h('tr', { class: 'o-' + outcome, dataset: { outcome } }, h('td', {}, item.name), h('td', {}, LABELS[outcome]), h('td', {}, message || '')));
    results.hidden = false;
    summary.textContent = Object.entries(counts).filter(([, n]) => n).map(([k, n]) => `${LABELS[k]}: ${n}`).join(' · ');
  }

  async function upload(items) {
    const { totals } = progress;
    totals.files += items.length;
    totals.bytes += items.reduce((n, i) => n + i.file.size, 0);
    progress.show();
    const dicom = [];
    for (const item of items) {
      if (isDicom(await item.file.slice(0, 132).arrayBuffer())) dicom.push(item);
      else {
        record(item, { outcome: 'skipped', message: 'no DICM mark at byte 128' });
        totals.doneFiles++;
        totals.doneBytes += item.file.size;
      }
    }
    progress.show();
    await sendAll(batches(dicom.map((item) => Object.assign(item, { size: item.file.size }))));
  }

  async function sendAll(queue) {
    const { totals } = progress;
    const inFlight = new Map();
    const showAll = () => progress.show([...inFlight.values()].reduce((a, b) => a + b, 0));
    async function worker() {
      for (let batch = queue.shift(); batch; batch = queue.shift()) {
        inFlight.set(batch, 0);
        const outcomes = await sendBatch(batch, (loaded) => {
          inFlight.set(batch, loaded);
          showAll();
        });
        inFlight.delete(batch);
        batch.forEach((item, i) => record(item, outcomes[i]));
        totals.doneFiles += batch.length;
        totals.doneBytes += batch.reduce((n, i) => n + i.size, 0);
        showAll();
      }
    }
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  }

  return () => window.removeEventListener('medimg:files', onFiles);
}

/** clickOnKey lets Enter and Space open a file picker from its label, as they do for a button. */
function clickOnKey(e) {
  if (e.key === 'Enter' || e.key === ' ') {
    e.preventDefault();
    e.currentTarget.click();
  }
}
