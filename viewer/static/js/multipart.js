// multipart.js: a multipart/related body split into its parts (pure; no DOM), for frames and
// bulk data retrieved from DICOMweb.

const CRLF = [13, 10];

/** boundaryOf returns the boundary parameter of a Content-Type, unquoted ('' when absent). */
export function boundaryOf(contentType) {
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType || '');
  return m ? m[1] || m[2] : '';
}

function indexOf(bytes, pattern, from) {
  outer: for (let i = from; i <= bytes.length - pattern.length; i++) {
    for (let j = 0; j < pattern.length; j++) if (bytes[i + j] !== pattern[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * parseMultipart splits body (an ArrayBuffer) by the boundary of contentType and returns
 * [{contentType, data: ArrayBuffer}] (each part's bytes are a slice of body). A body that is not
 * multipart (a single-part answer) comes back as one part.
 */
export function parseMultipart(body, contentType) {
  const boundary = boundaryOf(contentType);
  if (!/^multipart\//i.test(contentType || '') || !boundary) {
    return [{ contentType: contentType || '', data: body }];
  }
  const bytes = new Uint8Array(body);
  const delim = Array.from(new TextEncoder().encode('--' + boundary));
  const parts = [];
  let pos = indexOf(bytes, delim, 0);
  while (pos >= 0) {
    let start = pos + delim.length;
    if (bytes[start] === 45 && bytes[start + 1] === 45) break; // "--": the closing delimiter
    const headerEnd = indexOf(bytes, [...CRLF, ...CRLF], start);
    if (headerEnd < 0) break;
    const headers = new TextDecoder().decode(bytes.subarray(start, headerEnd));
    const dataStart = headerEnd + 4;
    const next = indexOf(bytes, [...CRLF, ...delim], dataStart);
    if (next < 0) break;
    const m = /^content-type:\s*(.+)$/im.exec(headers);
    parts.push({ contentType: m ? m[1].trim() : '', data: body.slice(dataStart, next) });
    pos = next + 2;
  }
  return parts;
}
