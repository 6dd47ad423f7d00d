// The client's entry: who is signed in, which page the address names, and moving between
// pages with the history API (every /app/... route is served this same page).
import { h, clear } from './dom.js';
import { get, post, isSignedOut } from './api.js';
import { renderSignIn } from './signin.js';
import { renderHome } from './home.js';
import { renderMeeting } from './meeting.js';

const root = document.getElementById('app');
const session = { user: null };
let cleanup = null;  // the current page's teardown (a call stops its camera and sockets)

export function navigate(path) {
  if (path !== location.pathname + location.search) history.pushState(null, '', path);
  render();
}

async function currentUser() {
  try {
    return await get('/api/auth/me/');
  } catch (err) {
    if (isSignedOut(err)) return null;
    throw err;
  }
}

async function signOut() {
  try { await post('/api/auth/logout/'); } catch { /* the session is gone either way */ }
  session.user = null;
  render();
}

function topBar() {
  return h('header', { class: 'topbar' },
    h('a', { class: 'brand', href: '/app/', onclick: linkHandler('/app/') },
      h('img', { src: '/app/assets/icon.svg', alt: '', width: 28, height: 28 }), 'Castera'),
    session.user && h('div', { class: 'who' },
      h('span', { class: 'who-email', text: session.user.full_name || session.user.email }),
      h('button', { type: 'button', class: 'button ghost small', testid: 'sign-out', onclick: signOut }, 'Sign out')));
}

// A link that changes page without reloading it.
export function linkHandler(path) {
  return (event) => {
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    navigate(path);
  };
}

function page(content, wide = false) {
  return h('div', { class: wide ? 'page wide' : 'page' }, topBar(), h('main', { class: 'content' }, content));
}

async function render() {
  if (cleanup) { cleanup(); cleanup = null; }
  if (!session.user) {
    try {
      session.user = await currentUser();
    } catch (err) {
      clear(root).append(page(h('p', { class: 'error', role: 'alert', text: err.message })));
      return;
    }
  }
  const ctx = { user: session.user, navigate, onSignedOut: () => { session.user = null; render(); } };
  if (!session.user) {
    // The address stays as it is: after signing in, the same route renders (a room link
    // leads into its room).
    clear(root).append(page(renderSignIn((user) => { session.user = user; render(); })));
    return;
  }
  const path = location.pathname;
  const join = path.match(/^\/app\/join\/([^/]+)\/?$/);
  if (join) {
    // The meeting page owns the whole screen during a call, with its own top bar.
    const view = renderMeeting(ctx, decodeURIComponent(join[1]), topBar);
    cleanup = view.cleanup;
    clear(root).append(view.element);
  } else if (path === '/app/' || path === '/app') {
    clear(root).append(page(renderHome(ctx), true));
  } else {
    clear(root).append(page(h('section', { class: 'card narrow' },
      h('h1', { text: 'Page not found' }),
      h('p', {}, h('a', { href: '/app/', onclick: linkHandler('/app/') }, 'Go to your meetings')))));
  }
}

window.addEventListener('popstate', render);
render();
