// dicomjson.js: reading PS3.18 Annex F DICOM JSON (pure; no DOM). A dataset is an object keyed by
// tag ("00100010") whose entries are {vr, Value: [...]} (or InlineBinary / BulkDataURI).

/** Tags the viewer reads, by keyword. */
export const T = {
  StudyDate: '00080020',
  Modality: '00080060',
  StudyDescription: '00081030',
  SeriesDescription: '0008103E',
  SOPInstanceUID: '00080018',
  PatientName: '00100010',
  PatientID: '00100020',
  StudyInstanceUID: '0020000D',
  SeriesInstanceUID: '0020000E',
  SeriesNumber: '00200011',
  InstanceNumber: '00200013',
  ImagePositionPatient: '00200032',
  ImageOrientationPatient: '00200037',
  SamplesPerPixel: '00280002',
  PhotometricInterpretation: '00280004',
  PlanarConfiguration: '00280006',
  NumberOfFrames: '00280008',
  Rows: '00280010',
  Columns: '00280011',
  PixelSpacing: '00280030',
  BitsAllocated: '00280100',
  BitsStored: '00280101',
  PixelRepresentation: '00280103',
  WindowCenter: '00281050',
  WindowWidth: '00281051',
  RescaleIntercept: '00281052',
  RescaleSlope: '00281053',
};

/** values returns the Value array of tag in ds ([] when absent or empty). */
export function values(ds, tag) {
  const el = ds && ds[tag];
  return (el && Array.isArray(el.Value) && el.Value) || [];
}

/** first returns the first value of tag, or fallback when there is none. */
export function first(ds, tag, fallback = undefined) {
  const v = values(ds, tag)[0];
  return v === undefined || v === null ? fallback : v;
}

/** str returns the first value as a string ('' when absent); a PN gives its readable form. */
export function str(ds, tag) {
  const v = first(ds, tag);
  if (v === undefined) return '';
  return typeof v === 'object' ? personName(v) : String(v);
}

/**
 * num returns the first value as a number (fallback when absent or not a number). DS and IS values
 * arrive as JSON numbers, but some writers send strings: both are read.
 */
export function num(ds, tag, fallback = undefined) {
  const n = Number(first(ds, tag));
  return first(ds, tag) === undefined || !Number.isFinite(n) ? fallback : n;
}

/** nums returns every value as a number, or null when one is missing or not a number. */
export function nums(ds, tag) {
  const vs = values(ds, tag).map(Number);
  return vs.length && vs.every(Number.isFinite) ? vs : null;
}

/**
 * personName formats a PN value ({Alphabetic: "Doe^Jane^^Dr"}) as "Doe, Jane Dr": family name,
 * then the other components, as a reading room lists patients.
 */
export function personName(pn) {
  const alpha = (pn && (pn.Alphabetic || pn.Ideographic || pn.Phonetic)) || '';
  const [family = '', ...rest] = alpha.split('^');
  const others = rest.filter(Boolean).join(' ');
  return family && others ? `${family}, ${others}` : family || others;
}

/** formatDate turns a DA value (YYYYMMDD) into YYYY-MM-DD; anything else is returned as is. */
export function formatDate(da) {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(da || '');
  return m ? `${m[1]}-${m[2]}-${m[3]}` : da || '';
}

/** The rescale and window attributes an enhanced multi-frame object may keep in its functional groups. */
const FUNCTIONAL = [T.WindowCenter, T.WindowWidth, T.RescaleIntercept, T.RescaleSlope];
const SHARED_GROUPS = '52009229';
const PER_FRAME_GROUPS = '52009230';

/**
 * withFunctionalGroups returns ds with the rescale and window attributes that an enhanced
 * multi-frame object keeps in its functional groups (Pixel Value Transformation, Frame VOI LUT;
 * PS3.3 C.7.6.16) copied to the top level when absent there: from the shared groups, else from
 * the first frame's. Without it an enhanced CT is windowed without its rescale intercept.
 */
export function withFunctionalGroups(ds) {
  const out = { ...ds };
  for (const group of [SHARED_GROUPS, PER_FRAME_GROUPS]) {
    const item = values(ds, group)[0];
    if (!item || typeof item !== 'object') continue;
    for (const macro of Object.values(item)) {
      const inner = macro && Array.isArray(macro.Value) ? macro.Value[0] : null;
      if (!inner || typeof inner !== 'object') continue;
      for (const tag of FUNCTIONAL) if (!out[tag] && inner[tag]) out[tag] = inner[tag];
    }
  }
  return out;
}
