// The dashboard's entry point: sign-in, routing between the views (#/jobs, #/jobs/{id}, #/new,
// #/queue), and the tenant's event stream while signed in.

import { call, describe, forgetKey, saveKey, savedKey, whenUnauthorized } from "./api.js";
import { byId, message } from "./dom.js";
import * as job from "./job.js";
import * as jobs from "./jobs.js";
import * as newJob from "./newjob.js";
import * as queue from "./queue.js";
import { clearAlert, clearError, connect, disconnect } from "./session.js";

const VIEWS = { jobs, job, new: newJob, queue, file: { init() {}, show: job.showFile, hide: job.hide } };
let current = null;

function route() {
  const [first, second] = location.hash.replace(/^#\/?/, "").split("/");
  if (first === "jobs" && second) return ["job", { id: decodeURIComponent(second) }];
  // A file by id (a duplicate's original may be in another job): shown on its job's page.
  if (first === "files" && second) return ["file", { id: decodeURIComponent(second) }];
  if (first === "new" || first === "queue") return [first, {}];
  return ["jobs", {}];
}

function showOnly(sectionId) {
  for (const section of document.querySelectorAll("main > section")) {
    section.hidden = section.id !== sectionId;
  }
}

function render({ focus = false } = {}) {
  if (current) current.hide();
  current = null;
  if (!savedKey()) {
    showLogin();
    return;
  }
  const [name, params] = route();
  showOnly(`view-${name === "file" ? "job" : name}`);
  for (const link of byId("nav").querySelectorAll("a")) {
    const here = link.dataset.nav === name || ((name === "job" || name === "file") && link.dataset.nav === "jobs");
    if (here) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  current = VIEWS[name];
  current.show(params);
  if (focus) byId("main").focus({ preventScroll: false });
}

// -- signing in and out ------------------------------------------------------------------------------

function signedIn(on) {
  byId("nav").hidden = !on;
  byId("sign-out").hidden = !on;
  if (!on) byId("live").hidden = true;
}

function showLogin(reason = null) {
  if (current) current.hide();
  current = null;
  signedIn(false);
  showOnly("view-login");
  message(byId("login-error"), reason);
  byId("login-key").focus();
}

function signOut(reason = null) {
  forgetKey();
  disconnect();
  clearAlert();
  showLogin(reason);
}

function start() {
  signedIn(true);
  connect((refused) => {
    if (refused.code === 401) signOut(`The key was refused: ${refused.reason || "not valid"}.`);
  });
  render();
}

async function signIn(event) {
  event.preventDefault();
  const key = byId("login-key").value.trim();
  if (!key) {
    message(byId("login-error"), "Paste an API key first.");
    return;
  }
  const button = byId("login-form").querySelector("button");
  button.disabled = true;
  try {
    // Any call that needs a key tells whether this one is good; viewers may list jobs.
    await call("GET", "/api/v1/jobs", { params: { limit: 1 }, key });
  } catch (error) {
    message(byId("login-error"), describe(error));
    return;
  } finally {
    button.disabled = false;
  }
  saveKey(key, byId("login-remember").checked);
  byId("login-key").value = "";
  message(byId("login-error"), null);
  start();
}

function boot() {
  for (const view of Object.values(VIEWS)) view.init();
  byId("login-form").addEventListener("submit", signIn);
  byId("sign-out").addEventListener("click", () => signOut());
  byId("alert-close").addEventListener("click", clearAlert);
  whenUnauthorized((error) => signOut(`The key was refused: ${error.detail}`));
  window.addEventListener("hashchange", () => {
    clearError(); // an error belongs to the view it happened in
    render({ focus: true });
  });
  if (savedKey()) start();
  else showLogin();
}

boot();
