// The queue: live numbers and charts from the metrics feed (/api/v1/metrics/live: throughput,
// queue depth, workers, storage latency, every second), and the workers' table from
// GET /api/v1/queue, read every few seconds while shown (no event carries it).

import { get } from "./api.js";
import { lineChart, place } from "./chart.js";
import { byId, fill, h, statusBadge, summary } from "./dom.js";
import * as fmt from "./format.js";
import * as metrics from "./metrics.js";
import { alertError } from "./session.js";

const EVERY_MS = 5000;
const CHART_SPAN_MS = 5 * 60 * 1000;
let timer = 0;
let unlisten = null;

export function init() {
  byId("queue-refresh").addEventListener("click", () => load());
}

export function show() {
  load();
  timer = setInterval(() => document.visibilityState === "visible" && load(), EVERY_MS);
  unlisten = metrics.listen(render);
}

export function hide() {
  clearInterval(timer);
  timer = 0;
  if (unlisten) unlisten();
  unlisten = null;
}

function render(message) {
  const short = message.throughput["10s"];
  const minute = message.throughput["1m"];
  summary(byId("queue-summary"), [
    ["Queued files", fmt.count(message.queue.queued)],
    ["Running files", fmt.count(message.queue.running)],
    ["Files/s (10 s · 1 min)", `${short.files_per_s} · ${minute.files_per_s}`],
    ["Bytes/s (10 s · 1 min)", `${fmt.rate(short.bytes_per_s)} · ${fmt.rate(minute.bytes_per_s)}`],
    ["Workers", `${message.workers.active} active, ${fmt.count(message.workers.files_in_flight)} files in flight`],
    ["Storage", storageText(message.storage)],
  ]);
  byId("queue-live-state").textContent = `Live: updated ${new Date(message.at).toLocaleTimeString()}`;
  const throughput = metrics.series("files_per_s");
  place(
    byId("queue-throughput-chart"),
    lineChart("Files finished per second (10 s window)", [
      { name: "files/s", className: "series-0", points: throughput },
    ], { format: (v) => `${Number(v.toFixed(2))}/s`, span: CHART_SPAN_MS }),
    "No throughput measured yet.",
    throughput.length === 0,
  );
  const database = metrics.series("database_ms");
  const blobs = metrics.series("blobs_ms");
  place(
    byId("queue-storage-chart"),
    lineChart("Storage latency (ms): database and blob store", [
      { name: "database", className: "series-0", points: database },
      { name: "blobs", className: "series-1", points: blobs },
    ], { format: (v) => `${Number(v.toFixed(1))} ms`, span: CHART_SPAN_MS }),
    "Storage health is not measured in this process yet (status unknown).",
    database.length + blobs.length === 0,
  );
}

export function storageText(storage) {
  return Object.entries(storage || {})
    .map(([name, s]) => {
      const latency = typeof s.latency_ms === "number" ? ` ${s.latency_ms.toFixed(1)} ms` : "";
      return `${name}: ${s.status}${latency}`;
    })
    .join(" · ");
}

async function load() {
  let queue;
  try {
    queue = await get("/api/v1/queue");
  } catch (error) {
    alertError(error);
    return;
  }
  if (!metrics.latest) {
    summary(byId("queue-summary"), [
      ["Queued files", fmt.count(queue.queued)],
      ["Running files", fmt.count(queue.running)],
      ["Files/s (last minute)", String(queue.files_per_s)],
      ["Bytes/s (last minute)", fmt.rate(queue.bytes_per_s)],
      ["Workers", `${queue.workers.filter((w) => w.status === "active").length} active`],
    ]);
  }
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
