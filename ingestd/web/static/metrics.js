// The live metrics feed (/api/v1/metrics/live over WebSocket): one connection shared by the
// Queue and Stats pages, reconnecting with backoff, keeping the last 10 minutes of samples so a
// page opened later still draws its charts.

import { apiUrl, savedKey } from "./api.js";

const KEEP_MS = 10 * 60 * 1000;
const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000, 30000];

export const samples = []; // [{t, files_per_s, bytes_per_s, database_ms, blobs_ms}]
export let latest = null;
const listeners = new Set();
let socket = null;
let failures = 0;
let timer = 0;

function latency(store) {
  return store && typeof store.latency_ms === "number" ? store.latency_ms : null;
}

function record(message) {
  latest = message;
  const t = Date.parse(message.at) || Date.now();
  if (message.type === "metrics") {
    // The first message carries the storage monitor's history (one sample every few seconds).
    for (const [store, key] of [["database", "database_ms"], ["blobs", "blobs_ms"]]) {
      const history = message.storage?.[store]?.history_ms || [];
      const every = 5000;
      history.forEach((value, i) => {
        samples.push({ t: t - (history.length - i) * every, [key]: value, history: true });
      });
    }
  }
  samples.push({
    t,
    files_per_s: message.throughput["10s"].files_per_s,
    bytes_per_s: message.throughput["10s"].bytes_per_s,
    database_ms: latency(message.storage?.database),
    blobs_ms: latency(message.storage?.blobs),
  });
  samples.sort((a, b) => a.t - b.t);
  while (samples.length && samples[0].t < t - KEEP_MS) samples.shift();
  for (const listener of listeners) listener(message);
}

function connect() {
  const url = apiUrl("/api/v1/metrics/live", { token: savedKey() });
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(url);
  socket = ws;
  ws.onmessage = (event) => {
    failures = 0;
    const message = JSON.parse(event.data);
    if (message.type === "metrics" || message.type === "metrics.update") record(message);
  };
  ws.onclose = (close) => {
    if (socket !== ws) return;
    socket = null;
    if (!listeners.size || close.code === 4401) return;
    const base = BACKOFF_MS[Math.min(failures, BACKOFF_MS.length - 1)];
    failures += 1;
    timer = setTimeout(() => listeners.size && !socket && connect(), base / 2 + Math.random() * base);
  };
}

/** Call `listener(message)` for each message while it is subscribed; returns the unsubscriber. */
export function listen(listener) {
  listeners.add(listener);
  if (!socket) connect();
  if (latest) listener(latest);
  return () => {
    listeners.delete(listener);
    if (!listeners.size) {
      clearTimeout(timer);
      if (socket) socket.close(1000, "bye");
      socket = null;
    }
  };
}

/** [[t, value], …] of one field of the samples that have it. */
export function series(field) {
  return samples.filter((s) => typeof s[field] === "number").map((s) => [s.t, s[field]]);
}
