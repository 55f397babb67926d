// The "new job" form: a folder or zip archive on the server, URLs, or files from this
// computer (an upload job, then the files in one multipart request, sealed).

import { call, describe, post } from "./api.js";
import { byId, fill, h, message } from "./dom.js";

export function init() {
  const form = byId("new-form");
  form.addEventListener("change", (event) => {
    if (event.target.name === "source") showFields();
  });
  form.addEventListener("submit", submit);
  showFields();
}

export function show() {
  message(byId("new-error"), null);
  byId("new-name").focus();
}

export function hide() {}

function sourceType() {
  return byId("new-form").querySelector("input[name=source]:checked").value;
}

function showFields() {
  const type = sourceType();
  for (const block of byId("new-form").querySelectorAll("[data-for]")) {
    block.hidden = !block.dataset.for.split(" ").includes(type);
  }
}

function patterns(id) {
  return byId(id)
    .value.split(",")
    .map((p) => p.trim())
    .filter(Boolean);
}

/** The job's source from the form, or a message saying what is missing. */
function source(type) {
  if (type === "directory" || type === "zip") {
    const path = byId("new-path").value.trim();
    if (!path) return { problem: "Enter a path on the server.", field: "new-path" };
    const spec = { type, path, include: patterns("new-include"), exclude: patterns("new-exclude") };
    if (type === "directory") spec.recursive = byId("new-recursive").checked;
    return { spec };
  }
  if (type === "url") {
    const urls = byId("new-urls")
      .value.split("\n")
      .map((u) => u.trim())
      .filter(Boolean);
    if (!urls.length) return { problem: "Enter at least one URL.", field: "new-urls" };
    return { spec: { type, urls } };
  }
  if (!byId("new-files").files.length) return { problem: "Choose one or more files.", field: "new-files" };
  return { spec: { type: "upload" } };
}

async function submit(event) {
  event.preventDefault();
  const error = byId("new-error");
  const result = byId("new-result");
  message(error, null);
  message(result, null);
  const type = sourceType();
  const { spec, problem, field } = source(type);
  if (problem) {
    message(error, problem);
    byId(field).focus();
    return;
  }
  const body = {
    sources: [spec],
    pipeline: byId("new-pipeline").value,
    priority: byId("new-priority").value,
    start: byId("new-start").checked,
  };
  const name = byId("new-name").value.trim();
  if (name) body.name = name;
  const button = event.submitter || byId("new-form").querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const job = await post("/api/v1/jobs", body);
    if (type === "upload") {
      message(result, `Created ${job.id}; uploading…`);
      const form = new FormData();
      for (const file of byId("new-files").files) form.append("file", file, file.name);
      form.append("seal", "true");
      try {
        await call("POST", `/api/v1/jobs/${encodeURIComponent(job.id)}/files`, { body: form });
      } catch (uploadError) {
        // The job exists and still takes files: its page has an upload form to try again.
        fill(
          error,
          `The job was created but the upload failed: ${describe(uploadError)}. `,
          h("a", { href: `#/jobs/${encodeURIComponent(job.id)}` }, `Open ${job.id}`),
          " to upload again.",
        );
        error.hidden = false;
        return;
      }
    }
    byId("new-form").reset();
    showFields();
    location.hash = `#/jobs/${encodeURIComponent(job.id)}`;
  } catch (failure) {
    message(error, describe(failure));
  } finally {
    button.disabled = false;
  }
}
