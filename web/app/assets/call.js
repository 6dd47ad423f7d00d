// The call: a mesh of PeerLinks (one RTCPeerConnection per other peer) signalled over the
// room's castera.v2 socket, a tile per participant, the controls (each one a participant
// state change that everyone sees), and the chat.
import { h, clear, icon, confirmDialog, toast, toggle, setToggle } from './dom.js';
import { get, post } from './api.js';
import { RoomSocket } from './signaling.js';
import { PeerLink } from './peer.js';
import { Chat } from './chat.js';
import { getTrack, levelReader } from './media.js';
import { ICONS } from './icons.js';

const SPEAKING_LEVEL = 0.04;

// ICE servers: the welcome's when it has them, else the server's /api/ice-servers/, else the
// page's <meta name="castera-ice-servers">, else none (host candidates: enough on one LAN).
async function fetchIceServers() {
  try {
    const res = await fetch('/api/ice-servers/', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (res.status === 200) {
      const body = await res.json();
      const list = Array.isArray(body) ? body : body?.ice_servers;
      if (Array.isArray(list)) return list;
    }
  } catch { /* not offered by this server */ }
  try {
    const list = JSON.parse(document.querySelector('meta[name="castera-ice-servers"]')?.content ?? '[]');
    return Array.isArray(list) ? list : [];
  } catch {
    return [];
  }
}

function initials(email) {
  const name = email.split('@')[0];
  const parts = name.split(/[._-]+/).filter(Boolean);
  return (parts.length > 1 ? parts[0][0] + parts[1][0] : name.slice(0, 2)).toUpperCase();
}

// One participant's tile; its data-* attributes are the participant's state as this page
// knows it (the tests read them).
function createTile({ email, local }) {
  const video = h('video', { autoplay: true, playsInline: true, muted: local });
  const status = h('div', { class: 'tile-status', hidden: local });
  const name = h('span', { class: 'tile-name', text: local ? 'You' : email.split('@')[0], title: email });
  const el = h('div', { class: 'tile', testid: 'participant', 'data-user-email': email, 'data-local': String(local) },
    video,
    h('div', { class: 'tile-avatar', 'aria-hidden': 'true' }, h('span', { text: initials(email) })),
    h('div', { class: 'tile-hand', title: 'Hand raised' }, icon(ICONS.hand)),
    status,
    h('div', { class: 'tile-plate' }, h('span', { class: 'tile-mic', title: 'Muted' }, icon(ICONS.micOff)), name));
  const tile = {
    el, video, email,
    setState(state) {
      el.dataset.audioMuted = String(!!state.audio_muted);
      el.dataset.videoStopped = String(!!state.video_stopped);
      el.dataset.raisedHand = String(!!state.raised_hand);
      el.dataset.screenSharing = String(!!state.screen_sharing);
    },
    setStream(stream) {
      if (video.srcObject !== stream) video.srcObject = stream;
      el.dataset.hasVideo = String(!!stream?.getVideoTracks().length);
    },
    setConnection(connection) {
      el.dataset.connection = connection;
      const words = { connecting: 'Connecting…', reconnecting: 'Reconnecting…', failed: 'Could not connect' };
      status.textContent = words[connection] ?? '';
      status.hidden = !words[connection];
    },
    setSpeaking(on) { el.dataset.speaking = String(on); },
  };
  tile.setState({});
  return tile;
}

export function startCall(container, { ctx, meeting, tracks, wants, devices, onExit }) {
  const me = ctx.user;
  const moderator = meeting.user === me.id || me.role === 'admin';
  const local = { audio: tracks.audio, camera: tracks.video, screen: null };
  const own = {
    in_call: true, audio_muted: !wants.audio || !local.audio, video_stopped: !wants.video || !local.camera,
    raised_hand: false, screen_sharing: false,
  };
  if (local.audio) local.audio.enabled = !own.audio_muted;
  if (own.video_stopped && local.camera) { local.camera.stop(); local.camera = null; }  // the camera light goes off

  const states = new Map();  // user email -> last participant state heard
  const peers = new Map();   // peer_id -> { link, tile }
  let selfPeer = null;
  let iceServers = [];
  let ended = false;
  const debug = { peers: new Map(), status: 'connecting' };
  window.__castera = debug;  // for tests and the curious: the RTCPeerConnections by peer id

  // --- the page -----------------------------------------------------------------------
  const stage = h('div', { class: 'stage', testid: 'stage' });
  const localTile = createTile({ email: me.email, local: true });
  localTile.el.dataset.connection = 'connected';
  stage.append(localTile.el);
  const chat = new Chat({ meeting, me, send: (frame) => socket.send(frame), onUnread: () => markUnread() });
  const statusPill = h('span', { class: 'status-pill', testid: 'connection-status', 'data-state': 'connecting', text: 'Connecting…' });
  const banner = h('div', { class: 'banner', testid: 'reconnecting', role: 'status', hidden: true },
    'Connection lost. Reconnecting…');
  const count = h('span', { class: 'muted count' });

  const micButton = toggle('toggle-audio', ICONS.mic, ICONS.micOff, 'Mic', () => setMic(own.audio_muted));
  const camButton = toggle('toggle-video', ICONS.cam, ICONS.camOff, 'Camera', () => setCamera(own.video_stopped));
  const handButton = toggle('raise-hand', ICONS.hand, ICONS.hand, 'Hand', () => updateState({ raised_hand: !own.raised_hand }));
  const shareButton = toggle('share-screen', ICONS.screen, ICONS.screen, 'Share', () => toggleShare());
  const chatButton = toggle('toggle-chat', ICONS.chat, ICONS.chat, 'Chat', () => showChat(!root.classList.contains('chat-open')));
  const leaveButton = h('button', { type: 'button', class: 'control leave', testid: 'leave', title: 'Leave', 'aria-label': 'Leave',
    onclick: () => leave() }, icon(ICONS.leave), h('span', { class: 'control-label', text: 'Leave' }));
  const endButton = moderator && h('button', { type: 'button', class: 'button danger small', testid: 'end-meeting',
    onclick: endForEveryone }, 'End for everyone');
  if (!navigator.mediaDevices?.getDisplayMedia) shareButton.hidden = true;

  const root = h('section', { class: 'call', testid: 'call' },
    h('div', { class: 'call-head' },
      h('h1', { class: 'call-title', text: meeting.title }), statusPill, count, h('span', { class: 'spacer' }), endButton),
    banner,
    h('div', { class: 'call-body' }, stage, chat.element),
    h('nav', { class: 'controls', 'aria-label': 'Call controls' },
      micButton, camButton, shareButton, handButton, chatButton, leaveButton));
  clear(container).append(root);
  showChat(window.matchMedia('(min-width: 900px)').matches);
  refreshControls();
  showLocalVideo();

  const resize = new ResizeObserver(() => layout());
  resize.observe(stage);

  // --- the socket -------------------------------------------------------------------------
  const socket = new RoomSocket(meeting.room_id, {
    onStatus: setConnectionStatus,
    onWelcome: welcome,
    onFrame: frame,
    onClosed: (code) => hangUp(code === 4004
      ? { title: 'The meeting was deleted', text: 'Its owner deleted this meeting.', testid: 'call-ended' }
      : endedView()),
    onRetryFailed: whyRefused,
  });
  fetchIceServers().then((list) => { iceServers = list; if (!ended) socket.connect(); });
  chat.loadHistory();
  const speakerTimer = setInterval(highlightSpeaker, 500);
  // Closing the tab is leaving too: the others see us out of the call at once.
  const onPageHide = () => leave({ silent: true });
  window.addEventListener('pagehide', onPageHide);
  const localLevel = { reader: local.audio ? levelReader(local.audio) : null };

  function welcome(f, isReconnect) {
    selfPeer = f.peer_id;
    if (Array.isArray(f.ice_servers)) iceServers = f.ice_servers;
    // Every peer id this page knew is gone with the old socket (the others were told that we
    // left): start afresh with the peers present now.
    for (const id of [...peers.keys()]) removePeer(id);
    // The list includes this connection itself.
    for (const p of f.participants ?? []) {
      if (p.peer_id === selfPeer) continue;
      states.set(p.user_email, p.state ?? {});
      addPeer(p.peer_id, p.user_email);
    }
    socket.send({ type: 'participant_state', changes: { ...own } });
    if (isReconnect) chat.loadHistory();
  }

  function frame(f) {
    switch (f.type) {
      case 'presence':
        if (f.event === 'joined' && f.peer_id !== selfPeer) addPeer(f.peer_id, f.user_email);
        if (f.event === 'left') removePeer(f.peer_id);
        break;
      case 'signal': {
        const entry = peers.get(f.from) ?? addPeer(f.from, f.from_user);
        entry.link.handleSignal(f.signal_type, f.data ?? {});
        break;
      }
      case 'participant_state':
        states.set(f.user_email, f.state);
        for (const { tile } of peers.values()) if (tile.email === f.user_email) tile.setState(f.state);
        break;
      case 'chat':
        chat.add(f);
        break;
      case 'meeting_status':
        if (f.status === 'ended') hangUp(endedView());
        break;
      case 'error':
        if (f.code !== 'rate_limited') console.warn('castera:', f.code, f.message);
        break;
      default:
        break;
    }
  }

  function addPeer(peerId, email) {
    if (peers.has(peerId)) return peers.get(peerId);
    const tile = createTile({ email, local: false });
    tile.setState(states.get(email) ?? {});
    tile.setConnection('connecting');
    const link = new PeerLink({
      peerId, selfId: selfPeer, iceServers,
      tracks: () => ({ audio: local.audio, video: local.screen ?? local.camera }),
      send: (signalType, data) => socket.send({ type: 'signal', to: peerId, signal_type: signalType, data }),
      onTrack: (track, stream) => tile.setStream(stream),
      onStatus: (s) => tile.setConnection(s),
    });
    const entry = { link, tile };
    peers.set(peerId, entry);
    debug.peers.set(peerId, link.pc);
    stage.append(tile.el);
    layout();
    return entry;
  }

  function removePeer(peerId) {
    const entry = peers.get(peerId);
    if (!entry) return;
    entry.link.close();
    entry.tile.el.remove();
    peers.delete(peerId);
    debug.peers.delete(peerId);
    layout();
  }

  function setConnectionStatus(status) {
    debug.status = status;
    statusPill.dataset.state = status;
    statusPill.textContent = { connecting: 'Connecting…', open: 'Connected', reconnecting: 'Reconnecting…' }[status];
    banner.hidden = status !== 'reconnecting';
    if (status === 'reconnecting') socket.dropQueued('signal');
  }

  // A refused upgrade says nothing to a browser: ask REST whether the meeting is still on.
  async function whyRefused() {
    try {
      const m = await get(`/api/join/${meeting.room_id}/`);
      if (m.status === 'ended') hangUp(endedView());
    } catch (err) {
      if (err.status === 404) hangUp({ title: 'The meeting was deleted', text: 'This meeting no longer exists.', testid: 'call-ended' });
      else if (err.status === 403) hangUp({ title: 'You were signed out', text: 'Sign in again to rejoin.', testid: 'call-ended' });
    }
  }

  // --- controls -------------------------------------------------------------------------
  function updateState(changes) {
    Object.assign(own, changes);
    socket.send({ type: 'participant_state', changes });
    refreshControls();
  }

  function refreshControls() {
    localTile.setState(own);
    setToggle(micButton, !own.audio_muted);
    setToggle(camButton, !own.video_stopped);
    setActive(handButton, own.raised_hand);
    setActive(shareButton, own.screen_sharing);
    micButton.disabled = !local.audio;
  }

  // Hand and share are actions, not devices: highlighted while on, never shown as "off".
  function setActive(button, active) {
    setToggle(button, true);
    button.classList.toggle('active', active);
    button.setAttribute('aria-pressed', String(active));
  }

  function setMic(on) {
    if (!local.audio) return;
    // A disabled track sends silence: nothing of the room is heard.
    local.audio.enabled = on;
    updateState({ audio_muted: !on });
  }

  async function setCamera(on) {
    if (on && !local.camera) {
      const track = await getTrack('video', devices.video);
      if (!track) { toast('The camera could not be started.'); return; }
      if (ended) { track.stop(); return; }
      local.camera = track;
    } else if (!on && local.camera) {
      local.camera.stop();  // the light goes off; peers get no video until it is back
      local.camera = null;
    }
    if (!local.screen) for (const { link } of peers.values()) link.setTrack('video', local.camera);
    showLocalVideo();
    updateState({ video_stopped: !on });
  }

  async function toggleShare() {
    if (local.screen) return stopShare();
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    } catch {
      return;  // the user chose not to share
    }
    const track = stream.getVideoTracks()[0];
    if (!track || ended) { track?.stop(); return; }
    track.contentHint = 'detail';
    track.addEventListener('ended', stopShare);  // the browser's own "Stop sharing"
    local.screen = track;
    for (const { link } of peers.values()) link.setTrack('video', track);
    showLocalVideo();
    updateState({ screen_sharing: true });
  }

  function stopShare() {
    if (!local.screen) return;
    local.screen.stop();
    local.screen = null;
    for (const { link } of peers.values()) link.setTrack('video', local.camera);
    showLocalVideo();
    updateState({ screen_sharing: false });
  }

  function showLocalVideo() {
    const track = local.screen ?? local.camera;
    localTile.setStream(track ? new MediaStream([track]) : null);
  }

  function showChat(open) {
    root.classList.toggle('chat-open', open);
    setToggle(chatButton, open);
    chatButton.classList.remove('off');
    if (open) { chatButton.dataset.unread = ''; chat.input.focus({ preventScroll: true }); }
    layout();
  }

  function markUnread() {
    if (!root.classList.contains('chat-open')) chatButton.dataset.unread = 'new';
  }

  async function endForEveryone() {
    const sure = await confirmDialog({ title: 'End the meeting for everyone?',
      message: 'Everyone in the call is disconnected and the meeting is marked as ended.',
      confirmLabel: 'End meeting', danger: true, testid: 'confirm-end' });
    if (!sure) return;
    try {
      await post(`/api/meetings/${meeting.id}/set-status/`, { status: 'ended' });
      // The room is told and closed by the server; this page need not wait for it.
      setTimeout(() => hangUp(endedView()), 1500);
    } catch (err) {
      toast(err.message);
    }
  }

  function endedView() {
    return { title: 'The meeting has ended', text: `"${meeting.title}" was ended for everyone.`, testid: 'call-ended' };
  }

  function leave({ silent = false } = {}) {
    if (ended) return;
    socket.sendNow({ type: 'participant_state', changes: { in_call: false, raised_hand: false, screen_sharing: false } });
    hangUp({ title: 'You left the meeting', text: meeting.title, testid: 'call-left', rejoin: true }, silent);
  }

  function hangUp(view, silent = false) {
    if (ended) return;
    ended = true;
    socket.close();
    clearInterval(speakerTimer);
    window.removeEventListener('pagehide', onPageHide);
    resize.disconnect();
    localLevel.reader?.stop();
    for (const id of [...peers.keys()]) removePeer(id);
    for (const t of [local.audio, local.camera, local.screen]) t?.stop();
    debug.status = 'ended';
    if (!silent) onExit(view);
  }

  // --- the stage --------------------------------------------------------------------------
  // The column count that gives 16:9 tiles the most area in the stage's current size; a
  // tile then takes its cell, but no wider than 16:9 and no taller than 3:4 (a phone held up).
  function layout() {
    const people = stage.children.length;
    const { width, height } = stage.getBoundingClientRect();
    count.textContent = people === 1 ? 'Only you' : `${people} people`;
    if (!width || !height) return;
    // A phone in a call of two shows the other person whole and itself in a corner.
    const pip = people === 2 && width < 600;
    stage.classList.toggle('pip', pip);
    if (pip) {
      stage.style.setProperty('--tile-w', `${Math.floor(width)}px`);
      stage.style.setProperty('--tile-h', `${Math.floor(height)}px`);
      return;
    }
    const gap = 8;
    let best = { cols: 1, rows: people, score: 0 };
    for (let cols = 1; cols <= people; cols++) {
      const rows = Math.ceil(people / cols);
      const w = Math.min((width - gap * (cols - 1)) / cols, ((height - gap * (rows - 1)) / rows) * 16 / 9);
      if (w > best.score) best = { cols, rows, score: w };
    }
    const cellW = (width - gap * (best.cols - 1)) / best.cols;
    const cellH = (height - gap * (best.rows - 1)) / best.rows;
    stage.style.setProperty('--tile-w', `${Math.floor(Math.min(cellW, cellH * 16 / 9))}px`);
    stage.style.setProperty('--tile-h', `${Math.floor(Math.min(cellH, cellW * 4 / 3))}px`);
  }

  // The loudest participant over a small threshold, measured by the receiving side's stats
  // (peers) and by WebAudio (ourselves).
  async function highlightSpeaker() {
    const levels = await Promise.all([...peers.values()].map(async (e) => [e.tile, await e.link.audioLevel()]));
    if (localLevel.reader && !own.audio_muted) levels.push([localTile, localLevel.reader.level() / 4]);
    let loudest = null;
    let max = SPEAKING_LEVEL;
    for (const [tile, level] of levels) if (level > max) { max = level; loudest = tile; }
    for (const tile of [localTile, ...[...peers.values()].map((e) => e.tile)]) tile.setSpeaking(tile === loudest);
  }

  return { leave };
}
