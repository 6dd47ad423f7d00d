// The sign-in form: session login (POST /api/auth/login/), errors said in words.
import { h } from './dom.js';
import { post, ApiError } from './api.js';

function loginError(err) {
  if (!(err instanceof ApiError)) return 'Something went wrong. Try again.';
  if (err.status === 400 && err.data?.non_field_errors) return 'Wrong email or password.';
  if (err.status === 429) {
    const seconds = err.retryAfter ?? Number((err.data?.detail ?? '').match(/(\d+) second/)?.[1]);
    return seconds
      ? `Too many failed attempts. Try again in ${seconds} second${seconds === 1 ? '' : 's'}.`
      : 'Too many failed attempts. Try again later.';
  }
  return err.message;
}

export function renderSignIn(onSignedIn) {
  const email = h('input', { type: 'email', name: 'email', required: true, autocomplete: 'username',
    testid: 'sign-in-email', id: 'sign-in-email', autofocus: true });
  const password = h('input', { type: 'password', name: 'password', required: true,
    autocomplete: 'current-password', testid: 'sign-in-password', id: 'sign-in-password' });
  const submit = h('button', { type: 'submit', class: 'button primary wide', testid: 'sign-in-submit' }, 'Sign in');
  const error = h('p', { class: 'error', role: 'alert', testid: 'sign-in-error', hidden: true });
  const going = location.pathname.startsWith('/app/join/') ? 'Sign in to join the meeting.' : 'Sign in to your meetings.';

  async function onSubmit(event) {
    event.preventDefault();
    submit.disabled = true;
    error.hidden = true;
    try {
      const user = await post('/api/auth/login/', { email: email.value.trim(), password: password.value });
      onSignedIn(user);
    } catch (err) {
      error.textContent = loginError(err);
      error.hidden = false;
      password.select();
    } finally {
      submit.disabled = false;
    }
  }

  return h('section', { class: 'card narrow sign-in' },
    h('h1', { text: 'Sign in' }),
    h('p', { class: 'muted', text: going }),
    h('form', { onsubmit: onSubmit },
      h('label', { for: 'sign-in-email' }, 'Email'), email,
      h('label', { for: 'sign-in-password' }, 'Password'), password,
      error, submit));
}
