// Templates for tabular files (docs/templates.md): the list with usage and success rate
// (#/templates), one template with its versions, diffs and the mapping editor with suggestions
// and sample rows (#/templates/{id}), and the mapping queue with approve/reject (#/mapping).

import { call, get, post } from "./api.js";
import { byId, fill, h, statusBadge, summary } from "./dom.js";
import * as fmt from "./format.js";
import { alertError } from "./session.js";

const pct = (rate) => (rate === null || rate === undefined ? "–" : `${(100 * rate).toFixed(1)}%`);

// -- the list ---------------------------------------------------------------------------------

export const list = {
  init() {
    byId("templates-refresh").addEventListener("click", () => list.show());
  },
  async show() {
    let page;
    try {
      page = await get("/api/v1/templates", { limit: 500 });
    } catch (error) {
      alertError(error);
      return;
    }
    fill(byId("templates-body"), page.items.map(templateRow));
    byId("templates-empty").hidden = page.items.length > 0;
  },
  hide() {},
};

function templateRow(t) {
  const link = h("a", { href: `#/templates/${encodeURIComponent(t.id)}` }, t.name);
  return h(
    "tr",
    { dataset: { template: t.id } },
    h("td", {}, link),
    h("td", {}, statusBadge(t.status)),
    h("td", { className: "num" }, `v${t.current_version}`),
    h("td", { className: "num" }, fmt.count(t.usage.files)),
    h("td", { className: "num" }, fmt.count(t.usage.rows)),
    h("td", { className: "num usage-rate" }, pct(t.usage.valid_rate)),
    h("td", {}, t.usage.last_used_at ? fmt.ago(t.usage.last_used_at) : "never"),
  );
}

// -- one template -----------------------------------------------------------------------------

export const detail = {
  id: null,
  template: null,
  init() {
    byId("mapping-editor").addEventListener("submit", (event) => {
      event.preventDefault();
      saveMapping();
    });
    byId("mapping-suggest").addEventListener("click", () => suggestInto());
  },
  async show({ id }) {
    detail.id = id;
    let template, versions;
    try {
      [template, versions] = await Promise.all([
        get(`/api/v1/templates/${encodeURIComponent(id)}`),
        get(`/api/v1/templates/${encodeURIComponent(id)}/versions`),
      ]);
    } catch (error) {
      alertError(error);
      return;
    }
    detail.template = template;
    byId("template-title").textContent = template.name;
    fill(byId("template-status"), statusBadge(template.status));
    summary(byId("template-summary"), [
      ["Current version", `v${template.current_version}`],
      ["Approved version", template.approved_version ? `v${template.approved_version}` : "none"],
      ["Files", fmt.count(template.usage.files)],
      ["Rows", fmt.count(template.usage.rows)],
      ["Valid rows", pct(template.usage.valid_rate)],
      ["Files waiting", fmt.count(template.waiting_files)],
    ]);
    fill(byId("template-versions"), versions.items.slice().reverse().map(versionItem));
    renderEditor(template, {});
  },
  hide() {},
};

function versionItem(v) {
  const diff = v.diff || {};
  const parts = [];
  if (diff.added?.length) parts.push(`added ${diff.added.join(", ")}`);
  if (diff.removed?.length) parts.push(`removed ${diff.removed.join(", ")}`);
  if (diff.renamed?.length) parts.push(`renamed ${diff.renamed.map((r) => `${r.from} → ${r.to}`).join(", ")}`);
  if (diff.retyped?.length) parts.push(`retyped ${diff.retyped.map((r) => `${r.column} ${r.from} → ${r.to}`).join(", ")}`);
  const actions = [];
  if (v.status === "pending_approval") {
    actions.push(
      h("button", { type: "button", onclick: () => decide(detail.id, v.version, "approve") }, "Approve"),
      h("button", { type: "button", className: "danger", onclick: () => decide(detail.id, v.version, "reject") }, "Reject"),
    );
  }
  return h(
    "li",
    { className: "version", dataset: { version: v.version } },
    h("strong", {}, `v${v.version} `),
    statusBadge(v.status),
    h("span", { className: "diff" }, parts.length ? ` ${parts.join("; ")}` : v.version === 1 ? " first version" : " no column changes"),
    v.comment ? h("q", {}, v.comment) : null,
    ...actions,
  );
}

function renderEditor(template, suggested) {
  const fields = (template.target_schema?.fields || []).map((f) => f.name);
  byId("mapping-fields").value = JSON.stringify(template.target_schema || { fields: [] }, null, 1);
  const samples = (template.signature.columns || []).map((c) => (c.profile?.samples || []).slice(0, 3).join(" · "));
  fill(
    byId("mapping-body"),
    template.signature.columns.map((column, i) => {
      const current = template.mapping?.[column.name]?.field || "";
      const best = suggested[column.name];
      const select = h(
        "select",
        { name: column.name, "aria-label": `Field for ${column.name}` },
        h("option", { value: "" }, "— leave unmapped —"),
        ...fields.map((f) => h("option", { value: f, selected: f === (current || best?.field) }, f)),
      );
      return h(
        "tr",
        { dataset: { column: column.name } },
        h("th", { scope: "row" }, column.name),
        h("td", {}, column.type),
        h("td", { className: "samples" }, samples[i]),
        h("td", {}, select),
        h("td", { className: "suggestion" }, best ? `${best.field} (${best.confidence.toFixed(2)})` : ""),
      );
    }),
  );
}

async function suggestInto() {
  let answer;
  try {
    const schema = JSON.parse(byId("mapping-fields").value || "{}");
    answer = await post(`/api/v1/templates/${encodeURIComponent(detail.id)}/suggestions`, { fields: schema.fields || [] });
    detail.template.target_schema = schema;
  } catch (error) {
    alertError(error);
    return;
  }
  const best = Object.fromEntries(answer.items.filter((i) => i.suggestions.length).map((i) => [i.column, i.suggestions[0]]));
  renderEditor(detail.template, best);
}

async function saveMapping() {
  const mapping = {};
  for (const select of byId("mapping-body").querySelectorAll("select")) {
    if (select.value) mapping[select.name] = { field: select.value };
  }
  try {
    const target_schema = JSON.parse(byId("mapping-fields").value || "{}");
    await call("PUT", `/api/v1/templates/${encodeURIComponent(detail.id)}`, { body: { target_schema, mapping } });
  } catch (error) {
    alertError(error);
    return;
  }
  detail.show({ id: detail.id });
}

async function decide(templateId, version, action) {
  const comment = action === "reject" ? prompt("Why is it rejected?") || "" : "";
  try {
    await post(`/api/v1/templates/${encodeURIComponent(templateId)}/versions/${version}/actions/${action}`, { comment });
  } catch (error) {
    alertError(error);
    return;
  }
  if (location.hash.startsWith("#/mapping")) queue.show();
  else detail.show({ id: templateId });
}

// -- the mapping queue ------------------------------------------------------------------------

export const queue = {
  init() {
    byId("mapping-refresh").addEventListener("click", () => queue.show());
  },
  async show() {
    let page, pending;
    try {
      [page, pending] = await Promise.all([
        get("/api/v1/mapping/queue"),
        get("/api/v1/templates", { status: "pending_approval" }),
      ]);
    } catch (error) {
      alertError(error);
      return;
    }
    fill(byId("mapping-pending"), pending.items.map(pendingItem));
    byId("mapping-pending-empty").hidden = pending.items.length > 0;
    fill(byId("mapping-queue"), page.items.map(queueItem));
    byId("mapping-empty").hidden = page.items.length > 0;
  },
  hide() {},
};

function pendingItem(t) {
  return h(
    "li",
    { dataset: { template: t.id } },
    h("a", { href: `#/templates/${encodeURIComponent(t.id)}` }, t.name),
    ` v${t.current_version} `,
    h("button", { type: "button", className: "approve", onclick: () => decide(t.id, t.current_version, "approve") }, "Approve"),
    h("button", { type: "button", className: "danger", onclick: () => decide(t.id, t.current_version, "reject") }, "Reject"),
  );
}

function queueItem(item) {
  const best = Object.fromEntries((item.suggestions || []).filter((s) => s.suggestions.length).map((s) => [s.column, s.suggestions[0]]));
  return h(
    "li",
    { className: "waiting", dataset: { file: item.file_id } },
    h("strong", {}, item.name),
    ` (${item.location}) waits on `,
    h("a", { href: `#/templates/${encodeURIComponent(item.template_id)}` }, `${item.template_id} v${item.version}`),
    h(
      "ul",
      {},
      item.signature.columns.map((c) =>
        h("li", {}, `${c.name} (${c.type})`, best[c.name] ? ` → ${best[c.name].field} ${best[c.name].confidence.toFixed(2)}` : ""),
      ),
    ),
  );
}
