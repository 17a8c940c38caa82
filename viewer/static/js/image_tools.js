// image_tools.js: the mouse on a viewport. The right button always windows and the middle button
// pans, whatever the tool; the left button does the chosen tool (window, pan, zoom, distance).
// The wheel scrolls the stack, or zooms with Ctrl.

/** tools are the left-button tools, by name, with their shortcut keys. */
export const tools = [
  { name: 'window', label: 'W/L', key: 'w' },
  { name: 'pan', label: 'Pan', key: 'p' },
  { name: 'zoom', label: 'Zoom', key: 'z' },
  { name: 'measure', label: 'Distance', key: 'm' },
];

/** attachTools wires a viewport's canvas to the mouse and returns a function that unwires it. */
export function attachTools(vp) {
  const canvas = vp.canvas;
  let drag = null;

  const point = (e) => {
    const r = canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    return { x: (e.clientX - r.left) * dpr, y: (e.clientY - r.top) * dpr };
  };

  const down = (e) => {
    vp.onActivate(vp);
    if (!vp.loader) return;
    const tool = e.button === 2 ? 'window' : e.button === 1 ? 'pan' : vp.tool;
    if (tool === 'measure') {
      vp.addPoint(point(e));
      return;
    }
    e.preventDefault();
    canvas.setPointerCapture(e.pointerId);
    drag = { tool, x: e.clientX, y: e.clientY, win: { ...vp.window() } };
  };

  const move = (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x;
    const dy = e.clientY - drag.y;
    drag.x = e.clientX;
    drag.y = e.clientY;
    const dpr = window.devicePixelRatio || 1;
    if (drag.tool === 'window') {
      // One pixel of mouse moves the window by a share of its width, so narrow and wide windows feel alike.
      const step = Math.max(drag.win.width / 256, 0.5);
      drag.win = { center: drag.win.center + dy * step, width: Math.max(1, drag.win.width + dx * step) };
      vp.setWindow(drag.win.center, drag.win.width);
    } else if (drag.tool === 'pan') {
      vp.pan.x += dx * dpr;
      vp.pan.y += dy * dpr;
      vp.invalidate('view');
    } else if (drag.tool === 'zoom') {
      vp.zoomBy(Math.exp(-dy / 150));
    }
  };

  const up = (e) => {
    if (drag && canvas.hasPointerCapture(e.pointerId)) canvas.releasePointerCapture(e.pointerId);
    drag = null;
  };

  const wheel = (e) => {
    if (!vp.loader) return;
    e.preventDefault();
    if (e.ctrlKey) vp.zoomBy(Math.exp(-e.deltaY / 300), point(e));
    else vp.scroll(Math.sign(e.deltaY));
  };

  const noMenu = (e) => e.preventDefault();

  canvas.addEventListener('pointerdown', down);
  canvas.addEventListener('pointermove', move);
  canvas.addEventListener('pointerup', up);
  canvas.addEventListener('pointercancel', up);
  canvas.addEventListener('wheel', wheel, { passive: false });
  canvas.addEventListener('contextmenu', noMenu);
  return () => {
    canvas.removeEventListener('pointerdown', down);
    canvas.removeEventListener('pointermove', move);
    canvas.removeEventListener('pointerup', up);
    canvas.removeEventListener('pointercancel', up);
    canvas.removeEventListener('wheel', wheel);
    canvas.removeEventListener('contextmenu', noMenu);
  };
}
