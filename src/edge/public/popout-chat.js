// The chat alone (/popout-chat/NAME): in a window of its own, opened from the watch page's "Pop out chat"
// link, or with ?transparent=1 as an overlay in OBS (a browser source; popout-chat-look.js sets that look).
// The same chat modules as the watch page's panel, started the same way (chat.js).

import { mountChatWhenAccessible } from './chat.js';
import { streamNameFromPath } from './format.js';
import { byId } from './dom.js';
import { t } from './i18n.js';

const name = streamNameFromPath(location.pathname);
if (name) {
  document.title = t('chat.channelTitle', { channel: name });
  mountChatWhenAccessible(name);
} else {
  byId('chat-input', HTMLInputElement).placeholder = t('chat.noSuchStream');
}
