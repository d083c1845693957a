// The drawing panel under the chat log: the toggle button opens it (the pad is built on first use), and
// "Send drawing" sends the picture as a PNG data URL if it fits the hub's size limit.

import { DrawPad } from './draw-pad.js';
import { byId } from './dom.js';
import { t } from './i18n.js';

export class DrawingPanel {
  /**
   * @param {{
   *   toggle: HTMLButtonElement, panel: HTMLElement,
   *   maxBytes: () => number,
   *   send: (image: string) => boolean,
   *   notice: (level: 'info'|'error', text: string) => void,
   * }} opts
   */
  constructor(opts) {
    this.opts = opts;
    /** @type {DrawPad | null} */
    this.pad = null;
    const { toggle, panel } = opts;
    toggle.addEventListener('click', () => {
      const open = panel.hidden;
      if (open && !this.pad) {
        const pad = new DrawPad(byId('draw-canvas', HTMLCanvasElement), byId('draw-colors', HTMLElement));
        this.pad = pad;
        byId('draw-clear', HTMLButtonElement).addEventListener('click', () => pad.clear());
        byId('draw-send', HTMLButtonElement).addEventListener('click', () => this.sendDrawing());
      }
      panel.hidden = !open;
      toggle.setAttribute('aria-pressed', String(open));
    });
  }

  sendDrawing() {
    const { notice } = this.opts;
    const pad = this.pad;
    const image = pad?.toDataUrl();
    if (!pad || !image) return notice('info', t('chat.drawFirst'));
    if (image.length > this.opts.maxBytes()) return notice('error', t('chat.drawingTooLarge'));
    if (this.opts.send(image)) {
      pad.clear();
      this.opts.panel.hidden = true;
      this.opts.toggle.setAttribute('aria-pressed', 'false');
    }
  }

  /** @param {boolean} disabled */
  setDisabled(disabled) {
    this.opts.toggle.disabled = disabled;
    if (disabled) this.opts.panel.hidden = true;
  }
}
