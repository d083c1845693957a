// "Clip" on the watch page (issue 15): a logged-in viewer clips the last 30 s of a live, recorded stream;
// the hub cuts it from the recording and the page links to the clip when it is ready. Shown only to a
// logged-in viewer; what the hub refuses (not recorded, only moderators, too many) is said in words.

import { api } from './api.js';
import { optionalById } from './dom.js';
import { streamNameFromPath } from './format.js';
import { asRecord } from './json.js';
import { loadMe } from './session.js';
import { afterPlayerStarts } from './page-order.js';
import { errorText, t } from './i18n.js';

async function mount() {
  const button = optionalById('clip', HTMLButtonElement);
  const result = optionalById('clip-result', HTMLElement);
  const channel = streamNameFromPath(location.pathname);
  if (!button || !result || !channel) return;
  const me = await loadMe();
  if (!me.user) return;
  button.hidden = false;
  button.addEventListener('click', () => {
    button.disabled = true;
    result.hidden = false;
    result.textContent = t('watch.clipping');
    void api('POST', `/api/channels/${encodeURIComponent(channel)}/clips`, {}).then((r) => {
      button.disabled = false;
      const clip = r.ok ? asRecord(asRecord(r.data)?.clip) : null;
      if (!clip || typeof clip.url !== 'string' || !/^\/clips\/[0-9a-f]{12}$/.test(clip.url)) {
        result.textContent = r.ok ? t('watch.clipFailed') : t('watch.noClip', { reason: errorText(r.error) });
        return;
      }
      const a = document.createElement('a');
      a.href = clip.url;
      a.textContent = t('watch.clipReady');
      result.replaceChildren(a);
    });
  });
}

void afterPlayerStarts().then(mount);
