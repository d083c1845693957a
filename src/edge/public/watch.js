// The watch page around the player (player.js): login state in the top bar, the follow button next to the
// title, and the chat panel, which starts once the stream is accessible (stream-access.js).

import { api } from './api.js';
import { loginHref } from './auth-rules.js';
import { streamNameFromPath } from './format.js';
import { loadMe, mountSessionArea } from './session.js';
import { streamAccess } from './stream-access.js';
import { mountChat } from './chat.js';
import { asyncListener, byId } from './dom.js';
import { asArray, asRecord } from './json.js';

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
    button.textContent = following ? 'Following' : 'Follow';
    button.setAttribute('aria-pressed', String(following));
    button.classList.toggle('is-following', following);
    button.title = following ? `Stop following ${channel}` : `Follow ${channel}`;
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
        button.title = 'Could not update, try again';
      }
    }),
  );
}

function main() {
  void mountSessionArea();
  if (!name) {
    byId('chat', HTMLElement).hidden = true;
    return;
  }
  void mountFollowButton(name);
  const me = loadMe();
  const access = streamAccess(name);
  void access.locked.then((locked) => {
    if (locked) byId('chat-input', HTMLInputElement).placeholder = 'Enter the stream password to chat';
  });
  void access.ready.then(async () => {
    const { user } = await me;
    mountChat({ channel: name, user });
  });
}

main();
