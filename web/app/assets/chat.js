// The meeting's chat: history from REST on entry (and again after a reconnect, to fill what
// was missed), live messages from the socket, merged by id. Only text nodes and <a> for links.
import { h, linkify, formatTime } from './dom.js';
import { get } from './api.js';

export class Chat {
  constructor({ meeting, me, send, onUnread }) {
    this.meeting = meeting;
    this.me = me;
    this.send = send;
    this.onUnread = onUnread;
    this.seen = new Set();
    this.log = h('ol', { class: 'chat-log', testid: 'chat-log', role: 'log', 'aria-live': 'polite', 'aria-label': 'Chat messages' });
    this.note = h('p', { class: 'chat-note muted', hidden: true });
    this.input = h('input', { class: 'chat-input', testid: 'chat-input', maxlength: 4000, autocomplete: 'off',
      placeholder: 'Message everyone', 'aria-label': 'Message everyone', enterkeyhint: 'send' });
    this.form = h('form', { class: 'chat-form', onsubmit: (e) => { e.preventDefault(); this.submit(); } },
      this.input, h('button', { type: 'submit', class: 'button primary small' }, 'Send'));
    this.element = h('aside', { class: 'chat', 'aria-label': 'Chat' },
      h('h2', { class: 'chat-title', text: 'Chat' }), this.note, this.log, this.form);
  }

  submit() {
    const content = this.input.value.trim();
    if (!content) return;
    this.send({ type: 'chat', content });
    this.input.value = '';
  }

  // The REST history is for the meeting's owner and admins; others see what is said from now.
  async loadHistory() {
    try {
      const messages = await get(`/api/meetings/${this.meeting.id}/messages/`);
      for (const m of messages) this.add(m, { history: true });
      this.note.hidden = true;
    } catch (err) {
      if (err.status === 403) {
        this.note.textContent = 'Earlier messages are shown to the meeting\'s owner only.';
        this.note.hidden = false;
      }
    }
  }

  add(message, { history = false } = {}) {
    if (message.id !== undefined) {
      if (this.seen.has(message.id)) return;
      this.seen.add(message.id);
    }
    const own = message.user === this.me.id;
    const item = h('li', { class: own ? 'message own' : 'message', 'data-message-id': message.id,
      'data-user-email': message.user_email },
      h('div', { class: 'message-head' },
        h('span', { class: 'message-author', text: own ? 'You' : message.user_email }),
        message.timestamp && h('time', { datetime: message.timestamp, text: formatTime(message.timestamp) })),
      h('p', { class: 'message-text' }, linkify(message.content)));
    // History can arrive after live messages: keep the log in id order.
    const later = [...this.log.children].find((li) => Number(li.dataset.messageId) > message.id);
    this.log.insertBefore(item, later ?? null);
    if (!later) this.log.scrollTop = this.log.scrollHeight;
    if (!own && !history) this.onUnread?.();
  }

  system(text) {
    this.log.append(h('li', { class: 'message system', text }));
    this.log.scrollTop = this.log.scrollHeight;
  }
}
