// The room's castera.v2 WebSocket: reconnects by itself with backoff, paces what it sends
// under the server's per-connection rate, and notices a silent connection by its own pings.
//
// handlers: onWelcome(frame, isReconnect), onFrame(frame), onStatus('connecting'|'open'|
// 'reconnecting'), onClosed(code) for closes that must not be retried (meeting ended or
// deleted), onRetryFailed() after each failed attempt (to ask REST why).

const RATE_PER_SECOND = 18;    // the server allows 20 a second with a burst of 60
const BURST = 40;
const PING_EVERY_MS = 10000;
const PONG_WITHIN_MS = 8000;
const FINAL_CODES = new Set([4000, 4004]);  // meeting ended, meeting deleted

export class RoomSocket {
  constructor(roomId, handlers) {
    this.url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/meetings/${roomId}/`;
    this.handlers = handlers;
    this.ws = null;
    this.attempt = 0;
    this.welcomed = false;     // a welcome was seen on some earlier connection
    this.stopped = false;
    this.queue = [];
    this.tokens = BURST;
    this.lastRefill = performance.now();
    this.timers = new Set();
  }

  connect() {
    if (this.stopped) return;
    this.handlers.onStatus(this.welcomed ? 'reconnecting' : 'connecting');
    const ws = new WebSocket(this.url, 'castera.v2');
    this.ws = ws;
    this.ready = false;  // until this connection's welcome
    let opened = false;
    ws.onopen = () => { opened = true; };
    ws.onmessage = (event) => this.receive(ws, event.data);
    ws.onclose = (event) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.stopPinging();
      if (this.stopped) return;
      if (FINAL_CODES.has(event.code)) { this.stopped = true; this.handlers.onClosed(event.code); return; }
      if (!opened) this.handlers.onRetryFailed?.();
      this.retryLater();
    };
  }

  receive(ws, data) {
    let frame;
    try { frame = JSON.parse(data); } catch { return; }
    if (frame.type === 'pong') { this.pongDue = null; return; }
    if (frame.type === 'welcome') {
      const isReconnect = this.welcomed;
      this.welcomed = true;
      this.ready = true;
      this.attempt = 0;
      this.handlers.onStatus('open');
      this.startPinging(ws);
      this.handlers.onWelcome(frame, isReconnect);
      this.flush();
      return;
    }
    this.handlers.onFrame(frame);
  }

  // 0.5 s, 1 s, 2 s ... up to 10 s, with jitter so that a room does not come back at once.
  retryLater() {
    this.handlers.onStatus('reconnecting');
    const delay = Math.min(10000, 500 * 2 ** this.attempt) * (0.75 + Math.random() * 0.5);
    this.attempt += 1;
    this.later(() => this.connect(), delay);
  }

  later(fn, ms) {
    const id = setTimeout(() => { this.timers.delete(id); fn(); }, ms);
    this.timers.add(id);
    return id;
  }

  // A connection can die without a close (a lost network): our ping must be answered.
  startPinging(ws) {
    this.stopPinging();
    this.pingTimer = setInterval(() => {
      if (this.pongDue && performance.now() > this.pongDue) { ws.close(4001, 'no pong'); this.drop(ws); return; }
      this.pongDue ??= performance.now() + PONG_WITHIN_MS;
      this.sendNow({ type: 'ping', id: Date.now() });
    }, PING_EVERY_MS);
  }

  stopPinging() {
    clearInterval(this.pingTimer);
    this.pongDue = null;
  }

  // Treat a socket as closed now (its close event may come much later).
  drop(ws) {
    if (ws !== this.ws) return;
    ws.onclose?.({ code: 1006 });
    ws.onclose = null;
  }

  // Frames wait while disconnected and are paced to stay under the server's rate limit.
  send(frame) {
    this.queue.push(frame);
    this.flush();
  }

  flush() {
    const now = performance.now();
    this.tokens = Math.min(BURST, this.tokens + ((now - this.lastRefill) / 1000) * RATE_PER_SECOND);
    this.lastRefill = now;
    while (this.queue.length && this.tokens >= 1 && this.isOpen()) {
      this.tokens -= 1;
      this.ws.send(JSON.stringify(this.queue.shift()));
    }
    if (this.queue.length && this.isOpen() && !this.flushTimer)
      this.flushTimer = this.later(() => { this.flushTimer = null; this.flush(); }, 1000 / RATE_PER_SECOND);
  }

  sendNow(frame) {
    if (this.isOpen()) this.ws.send(JSON.stringify(frame));
  }

  // Signals are worthless after a reconnect (the peers' ids change): dropped, not replayed.
  dropQueued(type) {
    this.queue = this.queue.filter((f) => f.type !== type);
  }

  isOpen() {
    return this.ws?.readyState === WebSocket.OPEN && this.ready;
  }

  close() {
    this.stopped = true;
    this.stopPinging();
    for (const id of this.timers) clearTimeout(id);
    this.timers.clear();
    if (this.ws) this.ws.close(1000, 'left');
    this.ws = null;
  }
}
