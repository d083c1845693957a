// The chat's drawing pad: a small canvas drawn on with the mouse, a pen or a finger, sent as a PNG data URL.
// The canvas starts white so drawings read on the dark chat; its pixel size stays 300x150 (whatever its CSS
// size) so a drawing is a few kilobytes.

import { t } from './i18n.js';

/** The pen's colours, each named for the swatch's label (a function: the page's language is read on use). */
export const PEN_COLORS = () => [
  { name: t('chat.colour.black'), value: '#111111' },
  { name: t('chat.colour.red'), value: '#e5383b' },
  { name: t('chat.colour.orange'), value: '#f48c06' },
  { name: t('chat.colour.yellow'), value: '#ffd60a' },
  { name: t('chat.colour.green'), value: '#2dc653' },
  { name: t('chat.colour.blue'), value: '#3a86ff' },
  { name: t('chat.colour.purple'), value: '#8338ec' },
  { name: t('chat.colour.eraser'), value: '#ffffff' },
];
const BACKGROUND = '#ffffff';

/** @typedef {{x: number, y: number}} Point */

/**
 * Canvas pixel coordinates of a pointer event over an element of the given rectangle.
 * @param {number} clientX
 * @param {number} clientY
 * @param {{left: number, top: number, width: number, height: number}} rect
 * @param {number} width
 * @param {number} height
 * @returns {Point}
 */
export function canvasPoint(clientX, clientY, rect, width, height) {
  const x = ((clientX - rect.left) / (rect.width || 1)) * width;
  const y = ((clientY - rect.top) / (rect.height || 1)) * height;
  return { x: Math.max(0, Math.min(width, x)), y: Math.max(0, Math.min(height, y)) };
}

export class DrawPad {
  /** @param {HTMLCanvasElement} canvas @param {HTMLElement} colorsEl */
  constructor(canvas, colorsEl) {
    this.canvas = canvas;
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('the drawing pad needs a 2D canvas context');
    this.ctx = ctx;
    this.color = PEN_COLORS()[0]?.value ?? BACKGROUND;
    this.dirty = false;
    /** @type {Point | null} */
    this.last = null;
    this.clear();
    this.buildColors(colorsEl);
    canvas.addEventListener('pointerdown', (e) => this.down(e));
    canvas.addEventListener('pointermove', (e) => this.move(e));
    for (const type of ['pointerup', 'pointercancel', 'pointerleave'])
      canvas.addEventListener(type, () => (this.last = null));
  }

  /** @param {HTMLElement} colorsEl */
  buildColors(colorsEl) {
    const buttons = PEN_COLORS().map((c, i) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'swatch';
      b.style.setProperty('--swatch', c.value);
      b.setAttribute('role', 'radio');
      b.setAttribute('aria-checked', String(i === 0));
      b.setAttribute('aria-label', c.name);
      b.title = c.name;
      b.addEventListener('click', () => {
        this.color = c.value;
        for (const other of buttons) other.setAttribute('aria-checked', String(other === b));
      });
      return b;
    });
    colorsEl.replaceChildren(...buttons);
  }

  /** @param {PointerEvent} e */
  point(e) {
    return canvasPoint(
      e.clientX,
      e.clientY,
      this.canvas.getBoundingClientRect(),
      this.canvas.width,
      this.canvas.height,
    );
  }

  /** @param {PointerEvent} e */
  down(e) {
    e.preventDefault();
    this.canvas.setPointerCapture?.(e.pointerId);
    this.last = this.point(e);
    this.stroke(this.last, this.last);
  }

  /** @param {PointerEvent} e */
  move(e) {
    if (!this.last) return;
    const p = this.point(e);
    this.stroke(this.last, p);
    this.last = p;
  }

  /**
   * @param {Point} from
   * @param {Point} to
   */
  stroke(from, to) {
    const ctx = this.ctx;
    ctx.strokeStyle = this.color;
    ctx.lineWidth = this.color === BACKGROUND ? 12 : 3;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x + 0.01, to.y);
    ctx.stroke();
    this.dirty = true;
  }

  clear() {
    this.ctx.fillStyle = BACKGROUND;
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.dirty = false;
  }

  /** The drawing as a PNG data URL, or null if nothing was drawn. */
  toDataUrl() {
    return this.dirty ? this.canvas.toDataURL('image/png') : null;
  }
}
