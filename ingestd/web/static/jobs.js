// The jobs list: newest first, a page at a time, kept current by the tenant's event stream.

import { get } from "./api.js";
import { bar, batcher, byId, framed, h, statusBadge } from "./dom.js";
import * as fmt from "./format.js";
import { alertError, subscribe } from "./session.js";

const PAGE = 50;
const TERMINAL = new Set(["job.completed", "job.failed", "job.cancelled"]);

const state = {
  jobs: new Map(), // id → Job, in the order shown (newest first)
  rows: new Map(), // id → <tr>
  dirty: new Set(),
  next: null,
  unsubscribe: null,
  loading: 0, // a counter, so an old page arriving late is dropped
};

export function init() {
  byId("jobs-status").addEventListener("change", () => load());
  byId("jobs-more").addEventListener("click", () => load(state.next));
}

export function show() {
  state.unsubscribe = subscribe(onEvent);
  load();
}

export function hide() {
  if (state.unsubscribe) state.unsubscribe();
  state.unsubscribe = null;
}

function filter() {
  return byId("jobs-status").value;
}

async function load(after = null) {
  const ticket = ++state.loading;
  let page;
  try {
    page = await get("/api/v1/jobs", { limit: PAGE, after, status: filter() });
  } catch (error) {
    alertError(error);
    return;
  }
  if (ticket !== state.loading) return;
  if (!after) {
    state.jobs.clear();
    state.rows.clear();
    byId("jobs-body").replaceChildren();
  }
  for (const job of page.items) addJob(job, false);
  state.next = page.next;
  byId("jobs-more").hidden = !page.next;
  byId("jobs-empty").hidden = state.jobs.size > 0;
}

function addJob(job, first) {
  state.jobs.set(job.id, job);
  const row = renderRow(job);
  state.rows.set(job.id, row);
  const body = byId("jobs-body");
  if (first) body.prepend(row);
  else body.append(row);
  byId("jobs-empty").hidden = true;
}

function matches(job) {
  const wanted = filter();
  return !wanted || wanted.split(",").includes(job.status);
}

// -- live updates ------------------------------------------------------------------------------

const refetch = batcher(async (ids) => {
  for (const id of ids) {
    let job;
    try {
      job = await get(`/api/v1/jobs/${encodeURIComponent(id)}`);
    } catch (error) {
      if (error.status !== 404) alertError(error);
      continue;
    }
    if (state.jobs.has(id)) {
      state.jobs.set(id, job);
      markDirty(id);
    } else if (matches(job)) addJob(job, true);
  }
});

const redraw = framed(() => {
  for (const id of state.dirty) {
    const job = state.jobs.get(id);
    const old = state.rows.get(id);
    if (!job || !old) continue;
    const row = renderRow(job);
    old.replaceWith(row);
    state.rows.set(id, row);
  }
  state.dirty.clear();
});

function markDirty(id) {
  state.dirty.add(id);
  redraw();
}

function onEvent(event) {
  const id = event.job_id;
  if (!id || !event.type.startsWith("job.")) return; // file events: the job's progress follows
  if (event.type === "job.deleted") {
    state.rows.get(id)?.remove();
    state.rows.delete(id);
    state.jobs.delete(id);
    byId("jobs-empty").hidden = state.jobs.size > 0;
    return;
  }
  const job = state.jobs.get(id);
  if (!job) {
    if (event.type === "job.created") refetch(id);
    return;
  }
  const data = event.data || {};
  if (data.status) job.status = data.status;
  if (data.progress) job.progress = data.progress;
  markDirty(id);
  // A final event carries the status, not the final counts and times: read them.
  if (TERMINAL.has(event.type) || data.action) refetch(id);
}

// -- rendering -----------------------------------------------------------------------------------

function renderRow(job) {
  const p = job.progress;
  const files = p.files;
  // Done = has an outcome (completed, failed, skipped); cancelled files are not done, so a
  // cancelled job never reads (or draws) as full.
  const done = files.completed + files.failed + files.skipped;
  const failed = files.failed ? h("span", { className: "bad" }, ` · ${fmt.count(files.failed)} failed`) : null;
  const skipped = files.skipped ? h("span", { className: "skipped" }, ` · ${fmt.count(files.skipped)} skipped`) : null;
  const cancelled = files.cancelled ? h("span", { className: "sub" }, ` · ${fmt.count(files.cancelled)} cancelled`) : null;
  const created = fmt.when(job.created_at);
  const running = job.status === "running";
  return h(
    "tr",
    { dataset: { id: job.id } },
    h(
      "td",
      {},
      h("a", { href: `#/jobs/${encodeURIComponent(job.id)}` }, job.name || job.id),
      h("div", { className: "sub mono" }, job.id),
    ),
    h("td", {}, statusBadge(job.status)),
    h(
      "td",
      { className: "meter" },
      bar(files.percent, `${job.name}: files`),
      h("div", { className: "sub" }, `${fmt.count(done)} / ${fmt.count(files.total)}`, failed, skipped, cancelled),
    ),
    h(
      "td",
      { className: "meter" },
      bar(p.bytes.percent, `${job.name}: bytes`),
      h("div", { className: "sub" }, `${fmt.bytes(p.bytes.completed)} / ${fmt.bytes(p.bytes.total)}`),
    ),
    h("td", { className: "num" }, job.started_at ? fmt.rate(p.throughput_bytes_per_s) : "–"),
    // The server's ETA is null until there is evidence (a few files done, a few seconds run).
    h("td", { className: "num", title: eta(job) }, running && p.eta_seconds != null ? fmt.duration(p.eta_seconds) : "–"),
    h("td", { title: created.title }, created.text),
    h("td", {}, job.tenant),
  );
}

function eta(job) {
  if (job.status !== "running") return "";
  return job.progress.eta_seconds == null ? "estimating: not enough done yet" : "at the recent rate";
}
