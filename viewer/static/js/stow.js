// stow.js: the pure parts of an upload by STOW-RS (PS3.18 §10.5): which files are DICOM, how they
// are cut into requests, the multipart/related body, and what the Store Instances Response says
// about each file. No DOM and no network, so that Node tests it.

/** isDicom reports whether the first bytes of a file (ArrayBuffer or Uint8Array, ≥ 132 bytes) hold "DICM" at offset 128, the mark of a Part 10 file. */
export function isDicom(head) {
  const b = head instanceof Uint8Array ? head : new Uint8Array(head);
  return b.length >= 132 && b[128] === 0x44 && b[129] === 0x49 && b[130] === 0x43 && b[131] === 0x4d;
}

/**
 * batches cuts files (anything with a size) into requests of at most maxFiles files and maxBytes
 * bytes, keeping their order; a file larger than maxBytes goes alone. Small requests keep the
 * progress moving and a failed request costs little; not too small, as each request is a round trip.
 */
export function batches(files, { maxFiles = 20, maxBytes = 50 * 1024 * 1024 } = {}) {
  const out = [];
  let cur = [];
  let bytes = 0;
  for (const f of files) {
    if (cur.length && (cur.length >= maxFiles || bytes + f.size > maxBytes)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(f);
    bytes += f.size;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** newBoundary returns a random multipart boundary (it cannot occur in a file by chance). */
export function newBoundary() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return 'medimg-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** contentType is the Content-Type of a STOW request with this boundary. */
export function contentType(boundary) {
  return `multipart/related; type="application/dicom"; boundary=${boundary}`;
}

/**
 * multipartBody returns a Blob of parts (Blob, File, ArrayBuffer or typed array) as
 * application/dicom parts (RFC 2046: CRLF before every delimiter, "--" after the last). A Blob
 * refers to the files instead of copying them, so a 50 MB batch costs no memory of its own.
 */
export function multipartBody(parts, boundary) {
  const chunks = [];
  for (const p of parts) chunks.push(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`, p, '\r\n');
  chunks.push(`--${boundary}--\r\n`);
  return new Blob(chunks);
}

/** FAILURE_REASONS are the FailureReason codes the server sends, in words. */
export const FAILURE_REASONS = {
  0xc000: 'cannot understand (not DICOM or truncated)',
  0xa900: 'data set does not match its SOP class (UIDs missing or malformed)',
  0x0110: 'processing failure (conflicting study or series, or a server failure)',
  0x0111: 'already stored',
  0xa700: 'out of resources (the file could not be written)',
};

/** DUPLICATE is the FailureReason of a SOP instance already stored. */
export const DUPLICATE = 0x0111;

/** reasonText says a FailureReason in words. */
export function reasonText(code) {
  return FAILURE_REASONS[code] || `failure 0x${Number(code).toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * parseWarnings reads Warning headers (several may be joined by ", ") into [{code, text}];
 * quotes are honoured, so commas inside a message do not split it.
 */
export function parseWarnings(header) {
  const out = [];
  for (const m of (header || '').matchAll(/(\d{3})\s+\S+\s+"((?:[^"\\]|\\.)*)"/g)) {
    out.push({ code: Number(m[1]), text: m[2].replace(/\\(.)/g, '$1') });
  }
  return out;
}

const seq = (ds, tag) => (ds && ds[tag] && ds[tag].Value) || [];

/**
 * storeOutcomes says what happened to each of count parts of one STOW request, from its status,
 * body (parsed JSON or null) and Warning header: [{outcome: 'stored'|'duplicate'|'failed', message}].
 * The server lists failed parts in part order, each with a Warning "part N: why", so the Nth
 * failure item belongs to the part its warning names; the other parts were stored.
 */
export function storeOutcomes(count, status, body, warningHeader) {
  const failedItems = seq(body, '00081198');
  const isStoreResponse = body && (body['00081198'] || body['00081199']);
  if (!isStoreResponse) {
    const message = (body && body.message) || `the server answered ${status}`;
    return Array.from({ length: count }, () => ({ outcome: 'failed', message }));
  }
  const outcomes = Array.from({ length: count }, () => ({ outcome: 'stored', message: '' }));
  const partWarnings = parseWarnings(warningHeader)
    .map((w) => /^part (\d+): (.*)$/s.exec(w.text))
    .filter(Boolean);
  failedItems.forEach((item, k) => {
    const w = partWarnings[k];
    const index = w ? Number(w[1]) - 1 : k;
    if (index < 0 || index >= count) return;
    const code = Number(seq(item, '00081197')[0]);
    outcomes[index] = {
      outcome: code === DUPLICATE ? 'duplicate' : 'failed',
      message: [reasonText(code), w && w[2]].filter(Boolean).join(': '),
    };
  });
  return outcomes;
}
