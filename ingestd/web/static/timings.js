// A job's timings on its page (GET /api/v1/jobs/{id}/timings): wall and CPU per step as bars,
// the queue wait, and the slowest files. Read when the page opens and when the job ends.

import { get } from "./api.js";
import { barChart, place } from "./chart.js";
import { byId, fill, h } from "./dom.js";
import * as fmt from "./format.js";

let shownFor = null;

export async function load(jobId) {
  shownFor = jobId;
  let timings;
  try {
    timings = await get(`/api/v1/jobs/${encodeURIComponent(jobId)}/timings`, { slowest: 5 });
  } catch (error) {
    if (shownFor === jobId) byId("job-timings").hidden = true;
    return;
  }
  if (shownFor !== jobId) return; // the user moved on
  const steps = Object.entries(timings.steps);
  byId("job-timings").hidden = false;
  const ms = (v) => (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);
  place(
    byId("timings-chart"),
    barChart(
      "Wall time per step, all files",
      steps.map(([name, s]) => ({ label: name, value: s.wall_ms })),
      { format: ms },
    ),
    "No file of this job has completed yet.",
    steps.length === 0,
  );
  fill(
    byId("timings-body"),
    steps.map(([name, s]) =>
      h(
        "tr",
        {},
        h("td", {}, name),
        h("td", { className: "num" }, fmt.count(s.files)),
        h("td", { className: "num" }, ms(s.wall_ms)),
        h("td", { className: "num" }, ms(s.cpu_ms)),
        h("td", { className: "num" }, ms(s.mean_wall_ms)),
        h("td", { className: "num" }, `${Math.round(100 * s.share)}%`),
      ),
    ),
  );
  const wait = timings.queue_wait_ms;
  byId("timings-wait").textContent =
    wait === null ? "No file has been claimed yet." : `Files waited ${ms(wait)} on average before a worker took them (longest ${ms(timings.queue_wait.max_ms)}).`;
  fill(
    byId("timings-slowest"),
    timings.slowest.map((f) =>
      h("li", {}, h("a", { href: `#/jobs/${encodeURIComponent(jobId)}`, title: f.file_id }, f.path), ` — ${ms(f.duration_ms)}`),
    ),
  );
}

export function clear() {
  shownFor = null;
  byId("job-timings").hidden = true;
}
