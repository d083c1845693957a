// Typed look-ups of the elements a page module needs. Each checks the element's type, so a page that
// lacks an element (or has another kind under that id) fails at start-up with the id in the message,
// not later with "cannot read properties of null".

/**
 * The element with this id, which must be a `type` (HTMLInputElement, HTMLCanvasElement…).
 * @template {Element} T
 * @param {string} id
 * @param {{new (): T, prototype: T}} type
 * @returns {T}
 */
export function byId(id, type) {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`the page has no ${type.name} #${id}`);
  return el;
}

/**
 * The first element under `root` matching `selector`, which must be a `type`.
 * @template {Element} T
 * @param {ParentNode} root
 * @param {string} selector
 * @param {{new (): T, prototype: T}} type
 * @returns {T}
 */
export function query(root, selector, type) {
  const el = root.querySelector(selector);
  if (!(el instanceof type)) throw new Error(`the page has no ${type.name} matching ${selector}`);
  return el;
}

/**
 * Like byId, for an element a page may leave out: null when absent, an error when of another type.
 * @template {Element} T
 * @param {string} id
 * @param {{new (): T, prototype: T}} type
 * @returns {T | null}
 */
export function optionalById(id, type) {
  const el = document.getElementById(id);
  if (el === null) return null;
  if (!(el instanceof type)) throw new Error(`#${id} is not a ${type.name}`);
  return el;
}

/**
 * A new element with a class and text (textContent: never parsed as HTML).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * A form's text control (an input or a textarea) by name.
 * @param {HTMLFormElement} form
 * @param {string} name
 * @returns {HTMLInputElement | HTMLTextAreaElement}
 */
export function formField(form, name) {
  const field = form.elements.namedItem(name);
  if (field instanceof HTMLInputElement || field instanceof HTMLTextAreaElement) return field;
  throw new Error(`form #${form.id} has no text field "${name}"`);
}

/**
 * An async function as an event listener. The browser does not wait for a listener's promise; `void` says
 * so, and a rejection still surfaces as an unhandled one, as it did from an async listener.
 * @template {Event} E
 * @param {(e: E) => Promise<unknown>} fn
 * @returns {(e: E) => void}
 */
export function asyncListener(fn) {
  return (e) => void fn(e);
}

/**
 * Gives an element a chat name's colour. The colours are picked for the dark palette; the light one darkens
 * them (style.css, `.user-color`) so every name stays readable on a light background.
 * @param {HTMLElement} e
 * @param {string | undefined | null} color
 */
export function setUserColor(e, color) {
  if (!color) return;
  e.classList.add('user-color');
  e.style.setProperty('--user-color', color);
}

/**
 * Loads a library once, as a classic script (CSP 'self' allows it; no inline code), and resolves with the
 * global it defines: dash.js, hls.js, uPlot.
 * @template T
 * @param {string} src
 * @param {() => T | undefined} global reads the library's global
 * @param {string} name the library, for the error
 * @returns {Promise<T>}
 */
export function loadScript(src, global, name) {
  const loaded = global();
  if (loaded) return Promise.resolve(loaded);
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.async = true;
    s.onload = () => {
      const g = global();
      if (g) resolve(g);
      else reject(new Error(`${name} did not load`));
    };
    s.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(s);
  });
}
