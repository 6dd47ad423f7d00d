// Building the page without HTML strings: every text goes in through textContent or an
// attribute, so nothing a user typed can become markup.

// h('button', {class: 'x', testid: 'join', onclick: fn, disabled: true}, 'Join', child...)
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'testid') el.dataset.testid = value;
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key in el && typeof value !== 'string') el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(parent, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

// A small SVG icon from one path (24x24 box), built as DOM nodes.
const SVG = 'http://www.w3.org/2000/svg';
export function icon(pathData) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', 'icon');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', pathData);
  svg.append(path);
  return svg;
}

// The text with its http(s) links made clickable; everything else stays plain text.
const LINK = /\bhttps?:\/\/[^\s<>"']+/gi;
export function linkify(text) {
  const out = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(LINK)) {
    // A sentence's closing punctuation is not part of the link.
    const url = match[0].replace(/[.,;:!?)\]]+$/, '');
    out.append(text.slice(last, match.index));
    out.append(h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, url));
    last = match.index + url.length;
  }
  out.append(text.slice(last));
  return out;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit',
});
export const formatTime = (iso) => timeFormat.format(new Date(iso));
export const formatDateTime = (iso) => dateTimeFormat.format(new Date(iso));

// "2026-03-04T09:30" in the user's time zone, as <input type="datetime-local"> wants it.
export function toLocalInput(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

// A modal question with a confirming button; resolves to true or false.
export function confirmDialog({ title, message, confirmLabel, danger = false, testid = 'confirm' }) {
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'dialog' },
      h('h2', { text: title }),
      h('p', { text: message }),
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'button', testid: 'confirm-cancel', onclick: () => close(false) }, 'Cancel'),
        h('button', { type: 'button', class: danger ? 'button danger' : 'button primary', testid,
          onclick: () => close(true) }, confirmLabel)));
    function close(answer) {
      dialog.close();
      dialog.remove();
      resolve(answer);
    }
    dialog.addEventListener('cancel', (e) => { e.preventDefault(); close(false); });
    document.body.append(dialog);
    dialog.showModal();
  });
}

// A short message at the bottom of the screen.
export function toast(message) {
  const el = h('div', { class: 'toast', role: 'status' }, message);
  document.body.append(el);
  setTimeout(() => el.remove(), 3000);
}

// A round call control that is on or off; it shows the crossed icon when off.
export function toggle(testid, onIcon, offIcon, label, onclick) {
  const button = h('button', { type: 'button', class: 'control on', testid, onclick, 'aria-pressed': 'true',
    title: label, 'aria-label': label });
  button.onIcon = onIcon;
  button.offIcon = offIcon;
  button.label = label;
  setToggle(button, true);
  return button;
}

export function setToggle(button, on) {
  button.classList.toggle('on', on);
  button.classList.toggle('off', !on);
  button.setAttribute('aria-pressed', String(on));
  button.replaceChildren(icon(on ? button.onIcon : button.offIcon), h('span', { class: 'control-label', text: button.label }));
}
