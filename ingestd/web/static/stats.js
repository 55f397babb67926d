// Stats: throughput over time (live from the metrics feed, and per day from usage), files by
// status (GET /api/v1/stats), errors by code (GET /api/v1/errors) with "retry all N with code",
// and storage latency over time. Plain SVG (chart.js).

import { describe, get, post } from "./api.js";
import { barChart, lineChart, place } from "./chart.js";
import { byId, fill, h, message } from "./dom.js";
import * as fmt from "./format.js";
import * as metrics from "./metrics.js";
import { alertError, notice } from "./session.js";

const EVERY_MS = 15000;
const SPAN_MS = 10 * 60 * 1000;
let unlisten = null;
let timer = 0;

export function init() {
  byId("stats-refresh").addEventListener("click", () => load());
  byId("stats-errors-since").addEventListener("change", () => loadErrors());
}

export function show() {
  unlisten = metrics.listen(renderLive);
  load();
  timer = setInterval(() => document.visibilityState === "visible" && load(), EVERY_MS);
}

export function hide() {
  if (unlisten) unlisten();
  unlisten = null;
  clearInterval(timer);
  timer = 0;
}

function load() {
  loadStats();
  loadUsage();
  loadErrors();
}

function renderLive() {
  const files = metrics.series("files_per_s");
  place(
    byId("stats-throughput-chart"),
    lineChart("Files finished per second, last 10 minutes", [{ name: "files/s", className: "series-0", points: files }], {
      format: (v) => `${Number(v.toFixed(2))}/s`,
      span: SPAN_MS,
    }),
    "Waiting for the live feed…",
    files.length === 0,
  );
  const database = metrics.series("database_ms");
  const blobs = metrics.series("blobs_ms");
  place(
    byId("stats-storage-chart"),
    lineChart("Storage latency (ms): database and blob store", [
      { name: "database", className: "series-0", points: database },
      { name: "blobs", className: "series-1", points: blobs },
    ], { format: (v) => `${Number(v.toFixed(1))} ms`, span: SPAN_MS }),
    "Storage health is not measured in this process yet (status unknown).",
    database.length + blobs.length === 0,
  );
}

async function loadStats() {
  try {
    const stats = await get("/api/v1/stats");
    const items = Object.entries(stats.files.by_status)
      .sort((a, b) => b[1] - a[1])
      .map(([status, count]) => ({ label: status, value: count, className: `status-${status}` }));
    place(byId("stats-status-chart"), barChart("Files by status", items, { format: fmt.count }), "No files yet.", items.length === 0);
  } catch (error) {
    alertError(error);
  }
}

async function loadUsage() {
  try {
    const usage = await get("/api/v1/usage", { group_by: "day" });
    const points = usage.items.map((row) => [Date.parse(`${row.day}T12:00:00Z`), row.files]);
    place(
      byId("stats-daily-chart"),
      lineChart("Files completed per day, last 30 days", [{ name: "files/day", className: "series-0", points }], {
        format: (v) => fmt.count(Math.round(v)),
        span: 30 * 24 * 3600 * 1000,
        time: (t) => new Date(t).toISOString().slice(0, 10),
      }),
      "No usage in the last 30 days.",
      points.length === 0,
    );
  } catch (error) {
    alertError(error);
  }
}

async function loadErrors() {
  let report;
  try {
    report = await get("/api/v1/errors", { since: byId("stats-errors-since").value, bucket: "1h" });
  } catch (error) {
    alertError(error);
    return;
  }
  const byCode = new Map();
  for (const item of report.items) byCode.set(item.code, (byCode.get(item.code) || 0) + item.count);
  const items = [...byCode].sort((a, b) => b[1] - a[1]).map(([code, count]) => ({ label: code || "(none)", value: count }));
  place(byId("stats-errors-chart"), barChart("Failed files by error code", items, { format: fmt.count }), "No failed files in this period.", items.length === 0);
  fill(byId("stats-errors-body"), report.items.map(renderError));
  byId("stats-errors-table").hidden = report.items.length === 0; // the chart says "no failed files"
}

function renderError(item) {
  const count = fmt.count(item.count);
  const retry = h("button", { type: "button", className: "quiet", dataset: { code: item.code || "" }, onclick: () => retryCode(item.code, retry) }, `Retry all with ${item.code}`);
  return h(
    "tr",
    {},
    h("td", { className: "num" }, count),
    h("td", { className: "mono" }, item.code || ""),
    h("td", {}, item.mime_type || ""),
    h("td", {}, item.source_type || ""),
    h("td", {}, item.example.message || "", " ", h("span", { className: "mono hint" }, item.example.file_id)),
    h("td", {}, item.code ? retry : ""),
  );
}

/** Count first (a dry run), ask, then retry every failed file with that code. */
async function retryCode(code, button) {
  button.disabled = true;
  try {
    const counted = await post("/api/v1/files/actions/retry", { filter: { error_code: code }, dry_run: true });
    if (!counted.matched) {
      message(byId("stats-retry-result"), `No failed file with ${code} is left to retry.`);
      return;
    }
    if (!confirm(`Retry all ${counted.matched} failed file(s) with ${code}?`)) return;
    const done = await post("/api/v1/files/actions/retry", { filter: { error_code: code } });
    await loadErrors();
    message(byId("stats-retry-result"), `Retried ${done.retried} file(s) with ${code}.`);
    notice(`Retried ${done.retried} file(s) with ${code}.`);
  } catch (error) {
    message(byId("stats-retry-result"), describe(error));
  } finally {
    button.disabled = false;
  }
}
