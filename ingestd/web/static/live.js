// Live events over WebSocket: reconnects with backoff and jitter, resumes after the last seq it
// saw (so no event is missed or repeated), follows "lagged" hints, answers the server's
// close codes (events.py): 1000 a per-job stream's end, 4401 a bad key, 4404 no such job.

import { apiUrl, savedKey } from "./api.js";

const PING_MS = 25_000; // below common proxy idle timeouts (30–60 s)
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000, 30000];
const STABLE_MS = 10_000; // a connection up this long resets the backoff

export class EventSocket {
  /**
   * @param {string} path  "/api/v1/events" or "/api/v1/jobs/{id}/events"
   * @param {object} options
   *   after: seq to resume after (null: the server's default: now, or a job's start)
   *   finite: a per-job stream, which ends for good when the server closes it with 1000
   *   detail: "full" (every event) or "summary" (job events and file failures, job progress
   *     coalesced by the server to a few updates a second)
   *   onEvent(event): each event envelope, once, in order
   *   onState(state, detail): "connecting" | "live" | "retrying" | "ended" | "refused"
   */
  constructor(path, { after = null, finite = false, detail = "full", onEvent, onState = () => {} }) {
    this.path = path;
    this.detail = detail;
    this.last = after;
    this.finite = finite;
    this.onEvent = onEvent;
    this.onState = onState;
    this.socket = null;
    this.failures = 0;
    this.stopped = false;
    this.timers = [];
  }

  start() {
    this.stopped = false;
    this.connect();
    return this;
  }

  stop() {
    this.stopped = true;
    this.clearTimers();
    if (this.socket) this.socket.close(1000, "bye");
    this.socket = null;
  }

  clearTimers() {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers = [];
    clearInterval(this.pinger);
  }

  connect() {
    // batch=1: several events per message (a JSON array), one parse for many.
    const detail = this.detail === "full" ? null : this.detail;
    const url = apiUrl(this.path, { after: this.last, token: savedKey(), detail, batch: 1 });
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    this.onState("connecting");
    const socket = new WebSocket(url);
    this.socket = socket;
    let opened = 0;
    socket.onopen = () => {
      opened = Date.now();
      this.pinger = setInterval(() => socket.send('{"type":"ping"}'), PING_MS);
    };
    socket.onmessage = (message) => {
      const body = JSON.parse(message.data);
      for (const item of Array.isArray(body) ? body : [body]) this.receive(item);
    };
    socket.onclose = (close) => {
      clearInterval(this.pinger);
      if (this.socket !== socket || this.stopped) return;
      this.socket = null;
      if (opened && Date.now() - opened > STABLE_MS) this.failures = 0;
      this.closed(close);
    };
  }

  receive(message) {
    if (message.type === "connected") {
      // Without a cursor the server starts from "now" (or the job's start): keep its position
      // so that a reconnect resumes from there.
      if (this.last === null || this.last === undefined) this.last = message.after;
      this.failures = 0;
      this.onState("live");
    } else if (message.type === "lagged") {
      this.last = message.resume_after; // the server closes next (1013): resume from here
    } else if (typeof message.seq === "number") {
      if (this.last !== null && message.seq <= this.last) return;
      this.last = message.seq;
      this.onEvent(message);
    }
  }

  closed(close) {
    if (close.code === 1000 && this.finite) {
      this.stopped = true;
      this.onState("ended");
      return;
    }
    if (close.code === 4401 || close.code === 4403 || close.code === 4404) {
      this.stopped = true;
      this.onState("refused", { code: close.code - 4000, reason: close.reason });
      return;
    }
    if (close.code === 4400) this.last = null; // a cursor the server no longer knows: start over
    const base = close.code === 1013 ? 0 : BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)];
    this.failures += 1;
    const wait = base ? base / 2 + Math.random() * base : 0; // jitter: clients do not reconnect in step
    this.onState("retrying", { seconds: Math.ceil(wait / 1000), reason: close.reason });
    this.timers.push(setTimeout(() => this.stopped || this.connect(), wait));
  }
}
