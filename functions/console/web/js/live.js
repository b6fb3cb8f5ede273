// live.js keeps one WebSocket to the realtime API (GET /v1/realtime gives its URL; the token
// goes in ?token= since a browser cannot set headers on a WebSocket). Frames are JSON arrays of
// events (docs/asyncapi.json). After a drop it reconnects with backoff and calls onReconnect, so
// the page refetches what it shows (events sent while it was away are not replayed).
import * as api from './api.js';
import * as auth from './auth.js';

export class Live {
  constructor({ onEvent, onState, onReconnect }) {
    this.onEvent = onEvent;
    this.onState = onState;
    this.onReconnect = onReconnect;
    this.ws = null;
    this.attempt = 0;
    this.stopped = false;
    this.seen = new Set(); // event ids: a stream redelivery repeats one
    this.watching = null;
    this.wasOpen = false;
  }

  async start() {
    this.stopped = false;
    let url;
    try {
      url = (await api.get('/v1/realtime')).url;
    } catch (e) {
      this.onState(e.code === 'realtime_off' ? 'off' : 'down');
      if (e.code !== 'realtime_off') this.retry();
      return;
    }
    this.connect(url);
  }

  connect(url) {
    this.onState('connecting');
    const ws = new WebSocket(url + (url.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(auth.token()));
    this.ws = ws;
    ws.addEventListener('open', () => {
      const again = this.wasOpen;
      this.wasOpen = true;
      this.attempt = 0;
      this.onState('live');
      if (this.watching) this.send({ action: 'subscribe', conversation_id: this.watching });
      clearInterval(this.pinger);
      // An idle connection is closed after 10 minutes: a ping keeps it.
      this.pinger = setInterval(() => this.send({ action: 'ping' }), 5 * 60 * 1000);
      if (again) this.onReconnect();
    });
    ws.addEventListener('message', (m) => {
      let events;
      try {
        events = JSON.parse(m.data);
      } catch {
        return;
      }
      for (const ev of Array.isArray(events) ? events : [events]) {
        if (ev.id && ev.type !== 'pong') {
          if (this.seen.has(ev.id)) continue;
          this.seen.add(ev.id);
          if (this.seen.size > 2000) this.seen = new Set(Array.from(this.seen).slice(-1000));
        }
        this.onEvent(ev);
      }
    });
    ws.addEventListener('close', () => {
      clearInterval(this.pinger);
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      this.onState('down');
      this.retry();
    });
  }

  retry() {
    const wait = Math.min(30_000, 1000 * 2 ** this.attempt) * (0.75 + Math.random() / 2);
    this.attempt++;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.start(), wait);
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  watch(conversationID) {
    this.watching = conversationID;
    if (conversationID) this.send({ action: 'subscribe', conversation_id: conversationID });
    else this.send({ action: 'unsubscribe' });
  }

  // drop closes the socket as a network failure would (the tests use it through the page).
  drop() {
    if (this.ws) this.ws.close();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    if (this.ws) this.ws.close();
    this.ws = null;
  }
}
