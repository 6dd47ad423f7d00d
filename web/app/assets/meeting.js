// A meeting's link (/app/join/<room_id>): the pre-join screen (camera preview, microphone
// level, device choice, camera/microphone off), then the call itself (call.js).
import { h, clear, icon, formatDateTime, toggle, setToggle } from './dom.js';
import { get, ApiError, isSignedOut } from './api.js';
import { getLocalTracks, getTrack, listDevices, startMeter } from './media.js';
import { startCall } from './call.js';
import { ICONS } from './icons.js';

export function renderMeeting(ctx, roomId, topBar) {
  const element = h('div', { class: 'page meeting-page' }, topBar(), h('main', { class: 'content' }));
  const main = element.querySelector('main');
  const state = { stopPreview: null, call: null, tracks: { audio: null, video: null }, gone: false };

  function cleanup() {
    state.gone = true;
    state.stopPreview?.();
    state.call?.leave({ silent: true });
    for (const t of Object.values(state.tracks)) t?.stop();
  }

  load();
  return { element, cleanup };

  async function load() {
    main.append(h('p', { class: 'muted', text: 'Opening the meeting…' }));
    let meeting;
    try {
      meeting = await get(`/api/join/${encodeURIComponent(roomId)}/`);
    } catch (err) {
      if (isSignedOut(err)) return ctx.onSignedOut();
      const missing = err instanceof ApiError && err.status === 404;
      return notice(missing ? 'Meeting not found' : 'The meeting could not be opened',
        missing ? 'This link does not lead to a meeting. It may have been deleted, or the link is incomplete.' : err.message,
        'meeting-not-found');
    }
    if (meeting.status === 'ended') {
      return notice('This meeting has ended', `"${meeting.title}" is over. Its owner can start it again.`, 'meeting-ended');
    }
    if (!state.gone) preJoin(meeting);
  }

  function notice(title, text, testid) {
    clear(main).append(h('section', { class: 'card narrow notice', testid },
      h('h1', { text: title }), h('p', { text }),
      h('a', { class: 'button', href: '/app/', onclick: (e) => { e.preventDefault(); ctx.navigate('/app/'); } }, 'Back to your meetings')));
  }

  function preJoin(meeting) {
    const video = h('video', { class: 'preview-video', autoplay: true, muted: true, playsInline: true });
    const meter = h('div', { class: 'meter', role: 'meter', 'aria-label': 'Microphone level' }, h('div', { class: 'meter-bar' }));
    const problem = h('p', { class: 'warning', role: 'status', hidden: true });
    const cameraSelect = h('select', { 'aria-label': 'Camera', testid: 'camera-select' });
    const micSelect = h('select', { 'aria-label': 'Microphone', testid: 'mic-select' });
    const camOff = h('div', { class: 'preview-off', hidden: true }, icon(ICONS.camOff), 'Camera is off');
    const wants = { audio: true, video: true };
    const micButton = toggle('prejoin-toggle-audio', ICONS.mic, ICONS.micOff, 'Microphone', () => {
      wants.audio = !wants.audio;
      applyWants();
    });
    const camButton = toggle('prejoin-toggle-video', ICONS.cam, ICONS.camOff, 'Camera', () => {
      wants.video = !wants.video;
      applyWants();
    });
    const joinButton = h('button', { type: 'button', class: 'button primary big', testid: 'join', onclick: join }, 'Join now');

    function applyWants() {
      if (state.tracks.audio) state.tracks.audio.enabled = wants.audio;
      if (state.tracks.video) state.tracks.video.enabled = wants.video;
      setToggle(micButton, wants.audio);
      setToggle(camButton, wants.video);
      camOff.hidden = wants.video && !!state.tracks.video;
    }

    function showTracks() {
      const { audio, video: cam } = state.tracks;
      video.srcObject = cam ? new MediaStream([cam]) : null;
      state.stopPreview?.();
      state.stopPreview = audio ? startMeter(audio, meter) : null;
      applyWants();
    }

    async function fillDevices() {
      const devices = await listDevices();
      fillSelect(cameraSelect, devices.video, state.tracks.video, 'Camera');
      fillSelect(micSelect, devices.audio, state.tracks.audio, 'Microphone');
    }

    async function switchDevice(kind, select) {
      const track = await getTrack(kind, select.value);
      if (!track || state.gone) return track?.stop();
      state.tracks[kind]?.stop();
      state.tracks[kind] = track;
      showTracks();
    }
    cameraSelect.addEventListener('change', () => switchDevice('video', cameraSelect));
    micSelect.addEventListener('change', () => switchDevice('audio', micSelect));

    function join() {
      joinButton.disabled = true;
      state.stopPreview?.();
      state.stopPreview = null;
      const tracks = state.tracks;
      state.tracks = { audio: null, video: null };  // the call owns them now
      const devices = { audio: micSelect.value || null, video: cameraSelect.value || null };
      state.call = startCall(main, { ctx, meeting, tracks, wants: { ...wants }, devices,
        onExit: (view) => { state.call = null; exitView(meeting, view); } });
    }

    clear(main).append(h('section', { class: 'prejoin', testid: 'prejoin' },
      h('div', { class: 'preview' }, video, camOff,
        h('div', { class: 'preview-controls' }, micButton, camButton)),
      h('div', { class: 'prejoin-side card' },
        h('p', { class: 'eyebrow', text: formatDateTime(meeting.scheduled_date) }),
        h('h1', { text: meeting.title }),
        meeting.description && h('p', { class: 'muted', text: meeting.description }),
        h('label', { class: 'field' }, h('span', { text: 'Camera' }), cameraSelect),
        h('label', { class: 'field' }, h('span', { text: 'Microphone' }), micSelect),
        meter, problem, joinButton)));

    getLocalTracks().then((tracks) => {
      if (state.gone || state.call) { tracks.audio?.stop(); tracks.video?.stop(); return; }
      state.tracks = { audio: tracks.audio, video: tracks.video };
      if (tracks.problem && !(tracks.audio && tracks.video)) {
        problem.textContent = `${tracks.problem} You can still join${tracks.audio ? '' : ' without a microphone'}${tracks.video ? '' : ' without a camera'}.`;
        problem.hidden = false;
      }
      showTracks();
      fillDevices();
    });
  }

  // After the call: ended by the owner, left, or lost; offers the way back in when it makes sense.
  function exitView(meeting, { title, text, testid, rejoin }) {
    if (state.gone) return;
    clear(main).append(h('section', { class: 'card narrow notice', testid },
      h('h1', { text: title }), h('p', { text }),
      h('div', { class: 'form-actions' },
        rejoin && h('button', { type: 'button', class: 'button primary', testid: 'rejoin', onclick: () => { clear(main); load(); } }, 'Rejoin'),
        h('a', { class: 'button', href: '/app/', onclick: (e) => { e.preventDefault(); ctx.navigate('/app/'); } }, 'Back to your meetings'))));
  }
}

function fillSelect(select, devices, current, fallbackName) {
  clear(select);
  const currentId = current?.getSettings?.().deviceId;
  devices.forEach((d, i) => select.append(h('option', { value: d.deviceId, text: d.label || `${fallbackName} ${i + 1}` })));
  if (!devices.length) select.append(h('option', { value: '', text: `No ${fallbackName.toLowerCase()}` }));
  if (currentId) select.value = currentId;
  select.disabled = devices.length < 2;
}
