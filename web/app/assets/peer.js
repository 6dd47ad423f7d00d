// One RTCPeerConnection to one other peer of the room, negotiated over castera.v2 signals
// with "perfect negotiation": either side may offer at any time (ICE restarts, glare), the
// polite side yields when offers cross, the impolite side ignores the other's offer.
//
// Who offers first is fixed so that a pair never starts with crossed offers: the peer with
// the smaller peer_id adds the transceivers and offers; the other answers on the transceivers
// that offer made, so each pair has exactly one audio and one video m-line both ways.

const CONNECT_TIMEOUT_MS = 15000;
const DISCONNECTED_GRACE_MS = 4000;
const MAX_ICE_RESTARTS = 2;

export class PeerLink {
  // options: { peerId, selfId, iceServers, tracks: () => ({audio, video}), send(type, data),
  //            onTrack(track), onStatus(status) } where status is 'connecting' | 'connected' |
  //            'reconnecting' | 'failed'
  constructor(options) {
    Object.assign(this, options);
    this.polite = this.selfId > this.peerId;
    this.initiator = !this.polite;
    this.pc = new RTCPeerConnection({ iceServers: this.iceServers });
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.pendingCandidates = [];
    this.chain = Promise.resolve();  // signals are handled one at a time, in order
    this.restarts = 0;
    this.status = 'connecting';
    this.audio = null;
    this.video = null;
    this.remoteStream = new MediaStream();
    this.wire();
    if (this.initiator) this.addTransceivers();
    this.connectTimer = setTimeout(() => this.giveUpOrRestart(), CONNECT_TIMEOUT_MS);
  }

  wire() {
    const pc = this.pc;
    pc.onnegotiationneeded = () => this.offer();
    pc.onicecandidate = ({ candidate }) => {
      if (candidate) this.send('ice', { candidate: candidate.candidate, sdpMid: candidate.sdpMid,
        sdpMLineIndex: candidate.sdpMLineIndex });
    };
    pc.ontrack = ({ track }) => {
      this.remoteStream.addTrack(track);
      this.onTrack(track, this.remoteStream);
    };
    pc.onconnectionstatechange = () => this.connectionChanged();
  }

  addTransceivers() {
    const { audio, video } = this.tracks();
    this.audio = this.pc.addTransceiver(audio ?? 'audio', { direction: 'sendrecv' });
    this.video = this.pc.addTransceiver(video ?? 'video', { direction: 'sendrecv' });
  }

  // After an offer is applied: send our tracks on the transceivers it made (first of each kind).
  adoptTransceivers() {
    if (this.audio && this.video) return;
    const { audio, video } = this.tracks();
    for (const t of this.pc.getTransceivers()) {
      const kind = t.receiver.track.kind;
      if (kind === 'audio' && !this.audio) { this.audio = t; t.direction = 'sendrecv'; t.sender.replaceTrack(audio); }
      if (kind === 'video' && !this.video) { this.video = t; t.direction = 'sendrecv'; t.sender.replaceTrack(video); }
    }
  }

  async offer() {
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this.send('offer', { type: 'offer', sdp: this.pc.localDescription.sdp });
    } catch (err) {
      console.warn('offer failed', err);
    } finally {
      this.makingOffer = false;
    }
  }

  handleSignal(type, data) {
    this.chain = this.chain.then(() => this.applySignal(type, data)).catch((err) => console.warn('signal', type, err));
    return this.chain;
  }

  async applySignal(type, data) {
    if (this.closed) return;
    if (type === 'ice') return this.addCandidate(data);
    const description = { type, sdp: data.sdp };
    const collision = type === 'offer' && (this.makingOffer || this.pc.signalingState !== 'stable');
    this.ignoreOffer = !this.polite && collision;
    if (this.ignoreOffer) return;
    await this.pc.setRemoteDescription(description);  // a polite peer's own offer rolls back
    for (const c of this.pendingCandidates.splice(0)) await this.addCandidate(c);
    if (type === 'offer') {
      this.adoptTransceivers();
      await this.pc.setLocalDescription();
      this.send('answer', { type: 'answer', sdp: this.pc.localDescription.sdp });
    }
  }

  async addCandidate(data) {
    if (!data.candidate) return;
    if (!this.pc.remoteDescription) { this.pendingCandidates.push(data); return; }
    try {
      await this.pc.addIceCandidate(data);
    } catch (err) {
      if (!this.ignoreOffer) console.warn('candidate refused', err);
    }
  }

  connectionChanged() {
    const state = this.pc.connectionState;
    if (state === 'connected') {
      clearTimeout(this.connectTimer);
      clearTimeout(this.graceTimer);
      this.restarts = 0;
      this.setStatus('connected');
    } else if (state === 'disconnected') {
      // Often back by itself within a few seconds; restart ICE if not.
      this.setStatus('reconnecting');
      clearTimeout(this.graceTimer);
      this.graceTimer = setTimeout(() => this.giveUpOrRestart(), this.initiator ? DISCONNECTED_GRACE_MS : CONNECT_TIMEOUT_MS);
    } else if (state === 'failed') {
      this.giveUpOrRestart();
    }
  }

  giveUpOrRestart() {
    if (this.closed || this.pc.connectionState === 'connected') return;
    // Only the side that made the first offer restarts: the other has nothing to offer
    // before that offer, and waits for the restart's (which reconnects it).
    if (this.restarts >= MAX_ICE_RESTARTS || !this.initiator) { this.setStatus('failed'); return; }
    this.restarts += 1;
    this.setStatus(this.status === 'connecting' ? 'connecting' : 'reconnecting');
    this.pc.restartIce();
    clearTimeout(this.connectTimer);
    this.connectTimer = setTimeout(() => this.giveUpOrRestart(), CONNECT_TIMEOUT_MS);
  }

  setStatus(status) {
    if (status === this.status) return;
    this.status = status;
    this.onStatus(status);
  }

  // Replaces what we send of one kind (null sends nothing) without renegotiating.
  setTrack(kind, track) {
    const transceiver = kind === 'audio' ? this.audio : this.video;
    if (transceiver) return transceiver.sender.replaceTrack(track).catch((err) => console.warn('replaceTrack', err));
    return Promise.resolve();
  }

  // Bytes-free reading of what arrives: the audio level (0..1) for the speaker highlight.
  async audioLevel() {
    if (this.closed) return 0;
    const stats = await this.pc.getStats(this.audio?.receiver.track ?? null).catch(() => null);
    let level = 0;
    stats?.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'audio') level = s.audioLevel ?? 0; });
    return level;
  }

  close() {
    this.closed = true;
    clearTimeout(this.connectTimer);
    clearTimeout(this.graceTimer);
    this.pc.close();
  }
}
