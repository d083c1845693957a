// The watch page around the player (player.js): login state in the top bar, the follow button next to the
// title, and the chat panel, which starts once the stream is accessible (stream-access.js) and can be popped
// out into a window of its own (popout-chat.html). All of it starts after the player (page-order.js).

import { api } from './api.js';
import { loginHref } from './auth-rules.js';
import { streamNameFromPath } from './format.js';
import { loadMe, mountSessionArea } from './session.js';
import { mountChatWhenAccessible } from './chat.js';
import { asyncListener, byId } from './dom.js';
import { asArray, asRecord } from './json.js';
import { afterPlayerStarts } from './page-order.js';
import { t } from './i18n.js';

const name = streamNameFromPath(location.pathname);

/**
 * "Follow" / "Following" for accounts (not for a streamer's own channel, nor for logged-out viewers).
 * @param {string} channel
 */
async function mountFollowButton(channel) {
  const button = byId('follow', HTMLButtonElement);
  const me = await loadMe();
  if (!me.user || me.user.role === 'streamer' || me.user.name.toLowerCase() === channel.toLowerCase()) return;
  let following = me.following.some((f) => f.name === channel);
  const render = () => {
    button.textContent = following ? t('watch.following') : t('watch.follow');
    button.setAttribute('aria-pressed', String(following));
    button.classList.toggle('is-following', following);
    button.title = following ? t('watch.unfollowTitle', { channel }) : t('watch.followTitle', { channel });
  };
  render();
  button.hidden = false;
  button.addEventListener(
    'click',
    asyncListener(async () => {
      button.disabled = true;
      const r = await api(following ? 'DELETE' : 'PUT', `/api/follows/${encodeURIComponent(channel)}`);
      button.disabled = false;
      const data = asRecord(r.data);
      if (r.ok && data && Array.isArray(data.following)) {
        following = asArray(data.following).includes(channel);
        render();
      } else if (r.error?.code === 'UNAUTHENTICATED') {
        location.assign(loginHref(location.pathname));
      } else {
        button.title = t('watch.followFailed');
      }
    }),
  );
}

/**
 * "Pop out chat": the chat alone (/popout-chat/NAME) in a small window of its own; a modified click (new tab,
 * new window) keeps the link's own behaviour.
 * @param {string} channel
 */
function mountPopoutLink(channel) {
  const link = byId('chat-popout', HTMLAnchorElement);
  link.href = `/popout-chat/${encodeURIComponent(channel)}`;
  link.addEventListener('click', (e) => {
    if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    // The same window name each time: a second click brings that window back instead of opening another.
    window.open(link.href, `tiercast-chat-${channel}`, 'popup,width=400,height=680');
  });
}

function main() {
  void mountSessionArea();
  if (!name) {
    byId('chat', HTMLElement).hidden = true;
    return;
  }
  void mountFollowButton(name);
  mountPopoutLink(name);
  mountChatWhenAccessible(name);
}

void afterPlayerStarts().then(main);
