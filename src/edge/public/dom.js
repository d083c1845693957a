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
