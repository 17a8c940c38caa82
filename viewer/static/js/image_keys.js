// image_keys.js: the study view's keyboard shortcuts, in one table that both drives the keys and
// lists them for the shell's help (`?`).
import { tools } from './image_tools.js';
import { presets } from './pixels.js';

const PAGE = 10;

/** bindings: keys (as KeyboardEvent.key), what they do, and the action on the study view. */
const bindings = [
  { keys: ['1', '2', '4'], action: 'One, two or four viewports', run: (v, e) => v.setLayout(Number(e.key)) },
  { keys: ['ArrowUp', 'ArrowDown'], action: 'Previous / next image', run: (v, e) => v.act((vp) => vp.scroll(e.key === 'ArrowUp' ? -1 : 1)) },
  { keys: ['PageUp', 'PageDown'], action: `${PAGE} images back / forward`, run: (v, e) => v.act((vp) => vp.scroll(e.key === 'PageUp' ? -PAGE : PAGE)) },
  { keys: ['Home', 'End'], action: 'First / last image', run: (v, e) => v.act((vp) => vp.setIndex(e.key === 'Home' ? 0 : Infinity)) },
  { keys: ['c', ' '], action: 'Play / pause cine', run: (v) => v.act((vp) => vp.toggleCine()) },
  { keys: ['+', '-'], action: 'Cine faster / slower', run: (v, e) => v.act((vp) => vp.setFps(vp.fps + (e.key === '+' ? 5 : -5))) },
  ...tools.map((t) => ({ keys: [t.key], action: `${t.label} tool (left button)`, run: (v) => v.setTool(t.name) })),
  ...presets.CT.map((p) => ({ keys: [p.key], action: `${p.name} window (${p.center}/${p.width})`, run: (v) => v.preset(p) })),
  { keys: ['d'], action: 'Stored (default) window', run: (v) => v.act((vp) => { vp.win = null; vp.invalidate('window'); }) },
  { keys: ['f'], action: 'Fit to viewport', run: (v) => v.act((vp) => vp.fit()) },
  { keys: ['o'], action: 'Zoom 1:1', run: (v) => v.act((vp) => vp.oneToOne()) },
  { keys: ['i'], action: 'Invert', run: (v) => v.act((vp) => vp.toggleInvert()) },
  { keys: ['r'], action: 'Rotate 90° clockwise', run: (v) => v.act((vp) => vp.rotate()) },
  { keys: ['h', 'v'], action: 'Flip horizontally / vertically', run: (v, e) => v.act((vp) => vp.flip(e.key === 'h')) },
  { keys: ['0'], action: 'Reset the view', run: (v) => v.act((vp) => vp.resetView()) },
  { keys: ['Escape'], action: 'Remove the distances on this image', run: (v) => v.act((vp) => { vp.measures = vp.measures.filter((m) => m.index !== vp.index); vp.invalidate('view'); }) },
  { keys: ['n'], action: 'Next viewport', run: (v) => v.activate(v.viewports[(v.viewports.indexOf(v.active) + 1) % v.viewports.length]) },
  { keys: ['[', ']'], action: 'Previous / next series in this viewport', run: (v, e) => v.stepSeries(e.key === ']' ? 1 : -1) },
  { keys: ['a'], action: 'Show / hide the DICOM attributes', run: (v) => v.toggleAttributes() },
];

/** shortcuts lists the keys for the help: [{keys, action}], keys as shown to people. */
export const shortcuts = bindings.map((b) => ({ keys: b.keys.map((k) => (k === ' ' ? 'Space' : k)).join(' / '), action: b.action }));

const byKey = new Map(bindings.flatMap((b) => b.keys.map((k) => [k, b])));

/** typing says whether the key goes to a control that uses it itself (a field, the slider, a button's Space). */
function typing(e) {
  const t = e.target;
  if (!(t instanceof Element)) return false;
  if (t.closest('dialog') || t.isContentEditable) return true;
  if (t.matches('input, select, textarea')) return true;
  return t.matches('button, summary, a') && (e.key === ' ' || e.key === 'Enter');
}

/** keyActions returns the keydown handler of a study view. */
export function keyActions(view) {
  return (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented || typing(e)) return;
    const b = byKey.get(e.key);
    if (!b) return;
    e.preventDefault();
    b.run(view, e);
  };
}
