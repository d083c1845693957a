// The watch page shows its picture first. The parts around the player (top bar session, follow button,
// chat, past broadcasts, clip button) start once the player has shown a picture or said why it cannot
// (offline, locked, error), or after a short wait: started at once, their requests, sockets and layout
// took the main thread while the player's socket opened and its first frames decoded (ADR 0022).

/** Statuses (player.js, body[data-status]) after which the player no longer needs the page to itself. */
const SETTLED = new Set(['live', 'offline', 'error', 'locked', 'rewound']);
/** The longest the rest of the page waits for the player. */
const MAX_WAIT_MS = 1500;

/** @type {Promise<void> | null} */
let settled = null;

/** Resolves once the player has settled (see above), at most MAX_WAIT_MS after the first call. */
export function afterPlayerStarts() {
  settled ??= new Promise((resolve) => {
    const done = () => {
      observer.disconnect();
      clearTimeout(timer);
      resolve();
    };
    const observer = new MutationObserver(() => {
      if (SETTLED.has(document.body.dataset.status ?? '')) done();
    });
    const timer = setTimeout(done, MAX_WAIT_MS);
    if (SETTLED.has(document.body.dataset.status ?? '')) return done();
    observer.observe(document.body, { attributes: true, attributeFilter: ['data-status'] });
  });
  return settled;
}
