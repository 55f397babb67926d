// One job: its numbers, sources and files, live from the job's own event stream
// (/api/v1/jobs/{id}/events), with the control buttons and an upload form for upload jobs.

import { call, describe, get, post } from "./api.js";
import { bar, batcher, byId, fill, framed, h, message, statusBadge, summary } from "./dom.js";
import * as fmt from "./format.js";
import { EventSocket } from "./live.js";
import { alertError, notice, position } from "./session.js";

const PAGE = 100;
const TERMINAL_JOB = new Set(["completed", "failed", "cancelled"]);
// Which actions each status allows (ingestd/domain/states.py).
const ALLOWED = {
  start: ["pending"],
  pause: ["queued", "running"],
  resume: ["paused"],
  cancel: ["pending", "queued", "running", "paused"],
  retry: ["failed", "cancelled", "running", "paused", "queued"],
  rerun: ["failed", "cancelled"],
  seal: ["pending", "queued", "running", "paused"],
};
const DONE = { start: "started", pause: "paused", resume: "resumed", cancel: "cancelled", retry: "failed files re-queued", rerun: "running again", seal: "sealed" };
// The API action behind each button, and its body.
const REQUEST = {
  retry: ["retry", { failed_only: true }],
  rerun: ["retry", { failed_only: false }], // failed and cancelled files alike
};

const state = {
  id: null,
  job: null,
  files: new Map(),
  rows: new Map(),
  dirty: new Set(),
  next: null,
  socket: null,
  loading: 0,
  highlight: null, // a file id to mark on the list (from #/files/{id})
};

export function init() {
  byId("job-actions").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (button) act(button.dataset.action, button);
  });
  byId("files-status").addEventListener("change", () => loadFiles());
  byId("files-more").addEventListener("click", () => loadFiles(state.next));
  byId("upload-form").addEventListener("submit", upload);
}

export async function show({ id, highlight = null }) {
  hide();
  state.id = id;
  state.highlight = highlight;
  state.job = null;
  byId("files-status").value = "";
  byId("job-title").textContent = id;
  fill(byId("job-status"));
  fill(byId("job-summary"));
  fill(byId("job-progress"));
  fill(byId("job-sources"));
  fill(byId("files-body"));
  message(byId("upload-result"), null);
  message(byId("job-error"), null);
  // Start the job's stream at the tenant stream's position, before reading the job: whatever
  // happens in between is applied twice, which is harmless; nothing is missed. Without a
  // position the job's stream replays it from its start.
  const after = await position();
  if (state.id !== id) return; // the user moved on meanwhile
  follow(after);
  await Promise.all([loadJob(), loadFiles()]);
}

/** `#/files/{id}`: the file's job page, with the file's row marked (added if not listed). */
export async function showFile({ id }) {
  let file;
  try {
    file = await get(`/api/v1/files/${encodeURIComponent(id)}`);
  } catch (error) {
    alertError(error);
    return;
  }
  await show({ id: file.job_id, highlight: file.id });
  if (state.id !== file.job_id) return;
  if (!state.files.has(file.id)) addFile(file);
  markHighlight();
}

function markHighlight() {
  const row = state.highlight ? state.rows.get(state.highlight) : null;
  if (!row) return;
  row.classList.add("highlight");
  row.scrollIntoView({ block: "center" });
}

/** Open the job's event stream from `after`. The server closes it after the job's final event;
 * a retry brings the job back, and setJob() then opens it again from where it stopped. */
function follow(after) {
  const id = state.id;
  state.socket = new EventSocket(`/api/v1/jobs/${encodeURIComponent(id)}/events`, {
    after,
    finite: true,
    onEvent,
    onState: (s, detail) => {
      if (s === "refused" && detail.code === 404) message(byId("job-error"), `No job ${id} for this key.`);
    },
  }).start();
}

export function hide() {
  if (state.socket) state.socket.stop();
  state.socket = null;
  state.id = null;
}

async function loadJob() {
  const id = state.id;
  if (!id) return; // a refresh that fires after the page was left
  try {
    const job = await get(`/api/v1/jobs/${encodeURIComponent(id)}`);
    if (state.id === id) setJob(job);
  } catch (error) {
    if (state.id !== id) return;
    if (error.status === 404) {
      byId("job-title").textContent = "No such job";
      message(byId("job-error"), describe(error));
      byId("job-actions").hidden = true;
    } else alertError(error);
  }
}

async function loadFiles(after = null) {
  const id = state.id;
  if (!id) return;
  const ticket = ++state.loading;
  let page;
  try {
    page = await get(`/api/v1/jobs/${encodeURIComponent(id)}/files`, {
      limit: PAGE,
      after,
      status: byId("files-status").value,
    });
  } catch (error) {
    if (state.id === id && error.status !== 404) alertError(error);
    return;
  }
  if (ticket !== state.loading || state.id !== id) return;
  if (!after) {
    state.files.clear();
    state.rows.clear();
    byId("files-body").replaceChildren();
  }
  for (const file of page.items) addFile(file);
  state.next = page.next;
  byId("files-more").hidden = !page.next;
  byId("files-empty").hidden = state.files.size > 0;
}

function addFile(file) {
  state.files.set(file.id, file);
  const row = renderFile(file);
  if (file.id === state.highlight) row.classList.add("highlight");
  state.rows.set(file.id, row);
  byId("files-body").append(row);
  byId("files-empty").hidden = true;
}

function setJob(job) {
  state.job = job;
  renderJob();
  const ended = !state.socket || state.socket.stopped;
  if (ended && state.id === job.id && !TERMINAL_JOB.has(job.status)) follow(state.socket?.last ?? null);
}

// -- live updates ------------------------------------------------------------------------------

const refreshJob = batcher(() => loadJob(), 300);
// Progress events carry the job's totals, not its sources' or times: read those now and then.
const refreshJobSlowly = batcher(() => loadJob(), 5000);
// The whole list again (files appear as sources are listed; cancel and retry move many at once).
const refreshFiles = batcher(() => loadFiles(), 1000);
const fetchFiles = batcher(async (ids) => {
  for (const id of ids) {
    try {
      const file = await get(`/api/v1/files/${encodeURIComponent(id)}`);
      if (file.job_id !== state.id) continue;
      if (state.files.has(id)) {
        state.files.set(id, file);
        markDirty(id);
      } else if (listed(file)) addFile(file);
    } catch (error) {
      if (error.status !== 404) alertError(error);
    }
  }
});

const redraw = framed(() => {
  for (const id of state.dirty) {
    const old = state.rows.get(id);
    const file = state.files.get(id);
    if (!old || !file) continue;
    const row = renderFile(file);
    old.replaceWith(row);
    state.rows.set(id, row);
  }
  state.dirty.clear();
});
const redrawJob = framed(() => renderJob());

function markDirty(id) {
  state.dirty.add(id);
  redraw();
}

/** Whether a file belongs on the list as it is filtered and paged now. */
function listed(file) {
  const wanted = byId("files-status").value;
  return !state.next && (!wanted || wanted === file.status);
}

const FILE_STATUS = {
  "file.completed": "completed",
  "file.failed": "failed",
  "file.skipped": "skipped",
  "file.cancelled": "cancelled",
  "file.retrying": "queued",
  "file.progress": "running",
};

function onEvent(event) {
  if (event.job_id !== state.id) return;
  const data = event.data || {};
  if (event.type === "job.deleted") {
    notice(`Job ${state.id} was deleted.`);
    location.hash = "#/jobs";
    return;
  }
  if (event.type.startsWith("job.")) {
    if (state.job) {
      if (data.status && data.status !== state.job.status) refreshJob("job"); // started_at, …
      else refreshJobSlowly("job");
      if (data.status) state.job.status = data.status;
      if (data.progress) state.job.progress = data.progress;
      redrawJob();
      const shown = state.files.size;
      if (data.progress && !state.next && shown < data.progress.files.total) refreshFiles("all");
    }
    if (event.type !== "job.updated" || data.action) {
      refreshJob("job");
      refreshFiles("all");
    }
    return;
  }
  const status = FILE_STATUS[event.type];
  if (!status || !event.file_id) return;
  const file = state.files.get(event.file_id);
  if (!file) {
    if (listed({ status })) fetchFiles(event.file_id);
    return;
  }
  file.status = status;
  if (event.type === "file.progress") {
    file.step = data.step;
    file.progress = data.progress;
    if (typeof data.size === "number") file.size = data.size;
  } else {
    file.step = null;
    if ("error" in data) file.error = data.error;
    if ("duplicate_of" in data) file.duplicate_of = data.duplicate_of;
    if ("attempts" in data) file.attempts = data.attempts;
    if (status === "completed") {
      file.progress = 1;
      file.error = null;
      for (const key of ["elements", "chunks", "duration_ms", "size"]) if (key in data) file[key] = data[key];
    }
  }
  markDirty(file.id);
}

// -- actions ---------------------------------------------------------------------------------------

async function act(action, button) {
  const job = state.job;
  if (!job) return;
  if (action === "cancel" && !confirm(`Cancel “${job.name}”? Files in flight stop; queued files are not processed. Failed and cancelled files can be retried later.`)) return;
  button.disabled = true;
  try {
    const [name, body] = REQUEST[action] || [action, undefined];
    setJob(await post(`/api/v1/jobs/${encodeURIComponent(job.id)}/actions/${name}`, body));
    notice(`${job.name}: ${DONE[action]}.`);
    refreshFiles("all");
  } catch (error) {
    alertError(error);
    renderJob();
  }
}

async function upload(event) {
  event.preventDefault();
  const input = byId("upload-files");
  const result = byId("upload-result");
  if (!input.files.length) {
    message(result, "Choose one or more files first.");
    return;
  }
  const form = new FormData();
  for (const file of input.files) form.append("file", file, file.name);
  if (byId("upload-seal").checked) form.append("seal", "true");
  const button = event.submitter || byId("upload-form").querySelector("button");
  button.disabled = true;
  message(result, `Uploading ${input.files.length} file(s)…`);
  try {
    const page = await call("POST", `/api/v1/jobs/${encodeURIComponent(state.id)}/files`, { body: form });
    message(result, `Uploaded ${page.items.length} file(s).`);
    input.value = "";
    refreshJob("job");
    refreshFiles("all");
  } catch (error) {
    message(result, describe(error));
  } finally {
    button.disabled = false;
  }
}

// -- rendering -------------------------------------------------------------------------------------

function renderJob() {
  const job = state.job;
  if (!job) return;
  byId("job-title").textContent = job.name || job.id;
  fill(byId("job-status"), statusBadge(job.status));
  byId("job-actions").hidden = false;
  const hasUpload = job.sources.some((s) => s.type === "upload");
  const failed = job.progress.files.failed > 0 || job.status === "failed";
  for (const button of byId("job-actions").querySelectorAll("button[data-action]")) {
    const action = button.dataset.action;
    let usable = ALLOWED[action].includes(job.status);
    if (action === "retry") usable = usable && failed;
    if (action === "seal") usable = usable && hasUpload && !job.sealed;
    button.hidden = action === "seal" && (!hasUpload || job.sealed);
    button.disabled = !usable;
  }
  const created = fmt.when(job.created_at);
  const started = fmt.when(job.started_at);
  const completed = fmt.when(job.completed_at);
  const labels = Object.entries(job.labels || {}).map(([k, v]) => `${k}=${v}`).join(", ");
  summary(byId("job-summary"), [
    ["ID", h("span", { className: "mono" }, job.id)],
    ["Tenant", job.tenant],
    ["Pipeline", job.pipeline],
    ["Priority", job.priority],
    ["Created", h("span", { title: created.title }, created.text)],
    ["Started", h("span", { title: started.title }, started.text)],
    ["Ended", h("span", { title: completed.title }, completed.text)],
    ...(labels ? [["Labels", labels]] : []),
    ...(hasUpload ? [["Sealed", job.sealed ? "yes" : "no: still takes uploads"]] : []),
  ]);
  const p = job.progress;
  const f = p.files;
  fill(
    byId("job-progress"),
    // Done = has an outcome (completed, failed, skipped): cancelled files never fill the bar.
    h("div", { className: "meter wide" }, h("span", {}, "Files"), bar(f.percent, "files"),
      h("span", { className: "sub", id: "job-files-done" }, `${fmt.count(f.completed + f.failed + f.skipped)} of ${fmt.count(f.total)} done`)),
    h("div", { className: "meter wide" }, h("span", {}, "Bytes"), bar(p.bytes.percent, "bytes"),
      h("span", { className: "sub" }, `${fmt.bytes(p.bytes.completed)} of ${fmt.bytes(p.bytes.total)}`)),
    h(
      "p",
      { className: "counts" },
      ...["queued", "running", "completed", "failed", "skipped", "cancelled"].map((name) =>
        h("span", { className: f[name] ? `count ${name}` : "count" }, `${fmt.count(f[name])} ${name}`),
      ),
      h("span", {}, `${fmt.rate(p.throughput_bytes_per_s)}`),
      // The server's ETA waits for evidence (null until then) and follows the recent rate.
      job.status === "running" && p.eta_seconds != null
        ? h("span", { id: "job-eta" }, `ETA ${fmt.duration(p.eta_seconds)}`)
        : null,
    ),
  );
  const failedSources = job.sources.filter((s) => s.error);
  // The job's own error, then each failed source's (e.g. a zip bomb): a job whose source
  // failed may have no file to show why.
  const lines = [
    ...(job.error ? [job.error.message || JSON.stringify(job.error)] : []),
    ...failedSources.map((s) => `Source ${s.index} (${s.type}) failed: ${s.error.code || "error"}: ${s.error.message || ""}`),
  ];
  const error = lines.length ? lines.join(" — ") : null;
  message(byId("job-error"), error);
  fill(byId("job-sources"), job.sources.map(renderSource));
  byId("job-upload").hidden = !hasUpload || job.sealed || TERMINAL_JOB.has(job.status);
}

function renderSource(source) {
  const what =
    source.type === "url"
      ? `${fmt.count(source.urls?.length)} URL(s)`
      : source.type === "s3"
        ? `s3://${source.bucket}/${source.prefix || ""}`
        : source.path || "files sent to the job";
  const files = source.progress?.files;
  return h(
    "li",
    {},
    h("strong", {}, source.type),
    " ",
    h("span", { className: "mono" }, what),
    " ",
    h("span", { className: "sub" }, `${source.state}${files ? ` · ${fmt.count(files.total)} file(s)` : ""}`),
    source.error ? h("div", { className: "error" }, `${source.error.code || "error"}: ${source.error.message || ""}`) : null,
  );
}

function renderFile(file) {
  const step = file.status === "running"
    ? [file.step || "…", bar((file.progress || 0) * 100, `${file.name}: ${file.step || "progress"}`)]
    : "–";
  const error = file.error
    ? [h("code", {}, file.error.code), file.error.message ? ` ${file.error.message}` : ""]
    : file.duplicate_of
      ? ["duplicate of ", h("a", { href: `#/files/${encodeURIComponent(file.duplicate_of)}`, className: "mono duplicate-of" }, file.duplicate_of)]
      : "";
  // Bytes: the file's real size once known; while it runs, how far through it is.
  const size = file.status === "running" && file.size != null && file.progress
    ? `${fmt.bytes(file.size * file.progress)} of ${fmt.bytes(file.size)}`
    : fmt.bytes(file.size);
  return h(
    "tr",
    { dataset: { id: file.id } },
    h(
      "td",
      { title: file.id },
      h("span", {}, file.name),
      file.path !== file.name ? h("div", { className: "sub mono" }, file.path) : null,
    ),
    h("td", {}, statusBadge(file.status)),
    h("td", { className: "step" }, step),
    h("td", { className: "num" }, size),
    h("td", { className: "num" }, String(file.attempts ?? 0)),
    h("td", { className: "error-cell" }, error),
  );
}
