// The queue and its workers (GET /api/v1/queue), read every few seconds while shown: no event
// carries it.

import { get } from "./api.js";
import { byId, fill, h, statusBadge, summary } from "./dom.js";
import * as fmt from "./format.js";
import { alertError } from "./session.js";

const EVERY_MS = 5000;
let timer = 0;

export function init() {
  byId("queue-refresh").addEventListener("click", () => load());
}

export function show() {
  load();
  timer = setInterval(() => document.visibilityState === "visible" && load(), EVERY_MS);
}

export function hide() {
  clearInterval(timer);
  timer = 0;
}

async function load() {
  let queue;
  try {
    queue = await get("/api/v1/queue");
  } catch (error) {
    alertError(error);
    return;
  }
  summary(byId("queue-summary"), [
    ["Queued files", fmt.count(queue.queued)],
    ["Running files", fmt.count(queue.running)],
    ["Files/s (last minute)", String(queue.files_per_s)],
    ["Bytes/s (last minute)", fmt.rate(queue.bytes_per_s)],
    ["Workers", `${queue.workers.filter((w) => w.status === "active").length} active`],
  ]);
  fill(byId("workers-body"), queue.workers.map(renderWorker));
  byId("workers-empty").hidden = queue.workers.length > 0;
}

function renderWorker(worker) {
  const started = fmt.when(worker.started_at);
  return h(
    "tr",
    {},
    h("td", { className: "mono" }, worker.id),
    h("td", {}, worker.host),
    h("td", { className: "num" }, String(worker.pid)),
    h("td", {}, statusBadge(worker.status)),
    h("td", { className: "num" }, fmt.count(worker.running)),
    h("td", { title: started.title }, started.text),
    h("td", { title: worker.last_seen }, fmt.ago(worker.last_seen)),
  );
}
