// What the views share once signed in: the tenant-wide event stream (one socket for the whole
// page), the connection indicator and the alert bar.

import { describe } from "./api.js";
import { byId } from "./dom.js";
import { EventSocket } from "./live.js";

const listeners = new Set();
let stream = null;
let head = null; // resolves with the stream's first position: where a job's own stream can start
let resolveHead = () => {};

/** Start the tenant's event stream (GET /api/v1/events as a WebSocket). */
export function connect(onRefused) {
  disconnect();
  head = new Promise((resolve) => {
    resolveHead = resolve;
  });
  // Summary: the views on this stream (the jobs list) draw job-level numbers only; a job's
  // page opens its own full stream.
  stream = new EventSocket("/api/v1/events", {
    detail: "summary",
    onEvent: (event) => {
      for (const listener of listeners) listener(event);
    },
    onState: (state, detail) => {
      showLive(state, detail);
      if (state === "live") resolveHead(stream.last);
      if (state === "refused") onRefused(detail);
    },
  }).start();
}

export function disconnect() {
  if (stream) stream.stop();
  stream = null;
  resolveHead(null);
}

/** Listen to every event of the tenant; returns the function that stops listening. */
export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The seq the tenant stream has reached (after at most `ms`; null if it is not connected). */
export async function position(ms = 3000) {
  if (!head) return null;
  const timeout = new Promise((resolve) => setTimeout(() => resolve(null), ms));
  const reached = await Promise.race([head, timeout]);
  return reached === null || reached === undefined ? null : stream?.last ?? reached;
}

const LABELS = {
  connecting: "connecting…",
  live: "● live",
  ended: "",
};

function showLive(state, detail = {}) {
  const node = byId("live");
  let text = LABELS[state];
  if (state === "retrying") text = `reconnecting${detail.seconds ? ` in ${detail.seconds}s` : "…"}`;
  if (state === "refused") text = "live updates refused";
  node.textContent = text || "";
  node.dataset.state = state;
  node.hidden = !text;
}

// -- the alert bar ------------------------------------------------------------------------------

let alertTimer = 0;

function showAlert(text, kind) {
  clearTimeout(alertTimer);
  byId("alert-text").textContent = text;
  byId("alert").className = `alert ${kind}`;
  byId("alert").hidden = false;
}

/** Show an error (an ApiError or any message) at the top of the page until dismissed or replaced. */
export function alertError(error) {
  showAlert(describe(error), "bad");
}

/** Show a short confirmation that goes away by itself. */
export function notice(text) {
  showAlert(text, "info");
  alertTimer = setTimeout(clearAlert, 4000);
}

export function clearAlert() {
  clearTimeout(alertTimer);
  byId("alert").hidden = true;
  byId("alert-text").textContent = "";
}

/** Clear an error, leaving a confirmation to go away by itself. */
export function clearError() {
  if (byId("alert").classList.contains("bad")) clearAlert();
}
