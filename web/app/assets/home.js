// Home: the caller's upcoming and previous meetings, a form to schedule one, and a box to
// join by link. Times are entered and shown in the user's time zone and sent as UTC.
import { h, clear, formatDateTime, toLocalInput, confirmDialog, toast } from './dom.js';
import { get, post, patch, del, isSignedOut } from './api.js';

export function meetingLink(meeting) {
  return `${location.origin}/app/join/${meeting.room_id}`;
}

async function copyLink(meeting) {
  const link = meetingLink(meeting);
  try {
    await navigator.clipboard.writeText(link);
    toast('Link copied');
  } catch {
    // Without clipboard access (an insecure origin), show the link to copy by hand.
    window.prompt('Copy the meeting link:', link);
  }
}

// The fields of a meeting form; `meeting` fills them for editing.
function meetingFields(meeting) {
  const soon = new Date(Date.now() + 15 * 60 * 1000);
  soon.setMinutes(Math.ceil(soon.getMinutes() / 15) * 15, 0, 0);
  const when = meeting ? new Date(meeting.scheduled_date) : soon;
  const fields = {
    title: h('input', { name: 'title', required: true, maxlength: 255, value: meeting?.title ?? '',
      placeholder: 'Weekly standup', testid: 'meeting-title' }),
    description: h('textarea', { name: 'description', rows: 2, placeholder: 'Optional',
      testid: 'meeting-description' }),
    when: h('input', { type: 'datetime-local', name: 'scheduled_date', required: true, value: toLocalInput(when),
      testid: 'meeting-when' }),
    type: h('select', { name: 'type_of', testid: 'meeting-type' },
      h('option', { value: 'public' }, 'Public'), h('option', { value: 'private' }, 'Private')),
  };
  fields.description.value = meeting?.description ?? '';
  fields.type.value = meeting?.type_of ?? 'public';
  return fields;
}

function fieldValues(fields) {
  return {
    title: fields.title.value.trim(),
    description: fields.description.value.trim() || null,
    // datetime-local is the user's wall clock: Date reads it in the local zone.
    scheduled_date: new Date(fields.when.value).toISOString(),
    type_of: fields.type.value,
  };
}

function fieldRows(fields) {
  const row = (label, input) => h('label', { class: 'field' }, h('span', { text: label }), input);
  return [row('Title', fields.title), row('Description', fields.description),
    h('div', { class: 'field-pair' }, row('Date and time', fields.when), row('Visibility', fields.type))];
}

// A form that runs `save(values)` and shows the error it throws.
function meetingForm({ meeting, submitLabel, save, cancel }) {
  const fields = meetingFields(meeting);
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'button primary', testid: 'meeting-save' }, submitLabel);
  async function onSubmit(event) {
    event.preventDefault();
    if (!fields.when.value) { error.textContent = 'Choose a date and time.'; error.hidden = false; return; }
    submit.disabled = true;
    try {
      await save(fieldValues(fields));
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    } finally {
      submit.disabled = false;
    }
  }
  return h('form', { class: 'meeting-form', onsubmit: onSubmit }, fieldRows(fields), error,
    h('div', { class: 'form-actions' },
      cancel && h('button', { type: 'button', class: 'button ghost', onclick: cancel }, 'Cancel'), submit));
}

function meetingItem(ctx, meeting, reload) {
  const mine = meeting.user === ctx.user.id || ctx.user.role === 'admin';
  const item = h('li', { class: 'meeting', testid: 'meeting-item', 'data-room-id': meeting.room_id });
  const joinPath = `/app/join/${meeting.room_id}`;
  function show() {
    clear(item).append(
      h('div', { class: 'meeting-main' },
        h('a', { class: 'meeting-title', href: joinPath, onclick: go, text: meeting.title }),
        h('div', { class: 'meeting-meta' },
          h('time', { datetime: meeting.scheduled_date, text: formatDateTime(meeting.scheduled_date) }),
          meeting.type_of === 'private' && h('span', { class: 'badge', text: 'Private' }),
          meeting.status === 'ended' && h('span', { class: 'badge ended', text: 'Ended' })),
        meeting.description && h('p', { class: 'meeting-description', text: meeting.description })),
      h('div', { class: 'meeting-actions' },
        meeting.status !== 'ended' && h('a', { class: 'button primary small', href: joinPath, onclick: go }, 'Join'),
        h('button', { type: 'button', class: 'button small', testid: 'copy-link', onclick: () => copyLink(meeting) }, 'Copy link'),
        mine && h('button', { type: 'button', class: 'button ghost small', testid: 'edit-meeting', onclick: edit }, 'Edit'),
        mine && h('button', { type: 'button', class: 'button ghost small danger-text', testid: 'delete-meeting', onclick: remove }, 'Delete')));
  }
  function go(event) {
    event.preventDefault();
    ctx.navigate(joinPath);
  }
  function edit() {
    clear(item).append(meetingForm({
      meeting, submitLabel: 'Save',
      save: async (values) => { await patch(`/api/meetings/${meeting.id}/`, values); reload(); },
      cancel: show,
    }));
  }
  async function remove() {
    const sure = await confirmDialog({ title: 'Delete this meeting?', message: `"${meeting.title}" and its chat will be deleted.`,
      confirmLabel: 'Delete', danger: true, testid: 'confirm-delete' });
    if (!sure) return;
    try {
      await del(`/api/meetings/${meeting.id}/`);
      reload();
    } catch (err) {
      toast(err.message);
    }
  }
  show();
  return item;
}

function meetingList(title, testid, empty) {
  const list = h('ul', { class: 'meetings', testid });
  return { list, section: h('section', { class: 'card' }, h('h2', { text: title }), list), empty };
}

// Accepts a full link, a /app/join/... path or a bare room id.
function roomFromInput(text) {
  const match = text.trim().match(/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/i);
  return match ? match[1].toLowerCase() : null;
}

export function renderHome(ctx) {
  const upcoming = meetingList('Upcoming', 'upcoming-meetings', 'Nothing scheduled.');
  const previous = meetingList('Previous', 'previous-meetings', 'No earlier meetings.');

  async function reload() {
    try {
      const [next, past] = await Promise.all([get('/api/meetings/upcoming/'), get('/api/meetings/previous/')]);
      fill(upcoming, next);
      fill(previous, past);
    } catch (err) {
      if (isSignedOut(err)) ctx.onSignedOut();
      else fill(upcoming, [], err.message);
    }
  }
  function fill(target, meetings, problem) {
    clear(target.list);
    if (problem || !meetings.length) target.list.append(h('li', { class: 'muted empty', text: problem ?? target.empty }));
    for (const m of meetings) target.list.append(meetingItem(ctx, m, reload));
  }

  const create = meetingForm({
    submitLabel: 'Schedule',
    save: async (values) => {
      const meeting = await post('/api/meetings/', values);
      toast(`"${meeting.title}" scheduled`);
      ctx.navigate('/app/');  // a fresh form and fresh lists
    },
  });

  const joinInput = h('input', { placeholder: 'Paste a meeting link', testid: 'join-link', 'aria-label': 'Meeting link' });
  const joinError = h('p', { class: 'error', role: 'alert', hidden: true });
  const joinForm = h('form', { class: 'join-form', onsubmit: (event) => {
    event.preventDefault();
    const room = roomFromInput(joinInput.value);
    if (room) ctx.navigate(`/app/join/${room}`);
    else { joinError.textContent = 'That is not a meeting link.'; joinError.hidden = false; }
  } }, joinInput, h('button', { type: 'submit', class: 'button' }, 'Join'), joinError);

  reload();
  return h('div', { class: 'home' },
    h('div', { class: 'home-side' },
      h('section', { class: 'card' }, h('h2', { text: 'New meeting' }), create),
      h('section', { class: 'card' }, h('h2', { text: 'Join a meeting' }), joinForm)),
    h('div', { class: 'home-lists' }, upcoming.section, previous.section));
}
