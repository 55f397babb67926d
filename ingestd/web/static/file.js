// One file (#/files/{id}): its document rendered from the stored JSON (headings, lists, tables
// as tables; every value goes in as text), its pages with where their text came from, its
// chunks beside the document, and a download of the original bytes when they were kept.

import { ApiError, apiUrl, describe, get, savedKey } from "./api.js";
import { byId, fill, h, message, statusBadge, summary } from "./dom.js";
import * as fmt from "./format.js";
import { alertError } from "./session.js";

let current = null;

export function init() {
  byId("file-download").addEventListener("click", download);
}

export function show({ id }) {
  current = id;
  byId("file-title").textContent = id;
  fill(byId("file-document"));
  fill(byId("file-chunks"));
  fill(byId("file-pages"));
  message(byId("file-note"), null);
  load(id);
}

export function hide() {
  current = null;
}

async function load(id) {
  let file;
  try {
    file = await get(`/api/v1/files/${encodeURIComponent(id)}`);
  } catch (error) {
    alertError(error);
    return;
  }
  if (current !== id) return;
  byId("file-title").textContent = file.name;
  byId("file-back").href = `#/jobs/${encodeURIComponent(file.job_id)}`;
  fill(byId("file-status"), statusBadge(file.status));
  summary(byId("file-summary"), [
    ["Path", file.path],
    ["Type", file.mime_type || "–"],
    ["Size", fmt.bytes(file.size)],
    ["Elements", String(file.elements ?? "–")],
    ["Chunks", String(file.chunks ?? "–")],
    ["sha256", h("span", { className: "mono" }, file.sha256 || "–")],
  ]);
  await Promise.all([loadDocument(id), loadChunks(id)]);
}

async function loadDocument(id) {
  let doc;
  try {
    doc = await get(`/api/v1/files/${encodeURIComponent(id)}/document`);
  } catch (error) {
    if (current !== id) return;
    const why = error instanceof ApiError ? describe(error) : String(error);
    message(byId("file-note"), `No document to show: ${why}`);
    return;
  }
  if (current !== id) return;
  fill(byId("file-document"), renderDocument(doc));
  fill(byId("file-pages"), ...doc.pages.map(renderPage));
  byId("file-pages-empty").hidden = doc.pages.length > 0;
}

async function loadChunks(id) {
  let page;
  try {
    page = await get(`/api/v1/files/${encodeURIComponent(id)}/chunks`, { limit: 500 });
  } catch (error) {
    return; // the document's note says why when there is nothing
  }
  if (current !== id) return;
  fill(
    byId("file-chunks"),
    ...page.items.map((chunk) => {
      const meta = chunk.metadata || {};
      const where = [
        meta.section_path || (meta.section || []).join(" > "),
        meta.pages ? `pages ${meta.pages.join("–")}` : meta.page ? `page ${meta.page}` : "",
      ].filter(Boolean).join(" · ");
      return h(
        "li",
        { className: "chunk", dataset: { elements: (meta.element_ids || []).join(" ") } },
        h("div", { className: "sub" }, `#${chunk.index}`, where ? ` · ${where}` : ""),
        h("pre", {}, chunk.text),
      );
    }),
  );
}

/** The document's elements as DOM, in reading order. */
export function renderDocument(doc) {
  const out = [];
  let list = null;
  for (const element of doc.elements) {
    if (element.kind !== "list_item") list = null;
    const node = renderElement(element);
    if (element.kind === "list_item") {
      if (!list) {
        list = h("ul", { className: "doc-list" });
        out.push(list);
      }
      list.append(node);
    } else if (node) out.push(node);
  }
  return h("article", { className: "document" }, out);
}

function renderElement(e) {
  const attrs = { dataset: { element: e.id } };
  switch (e.kind) {
    case "title":
      return h("h2", attrs, e.text);
    case "heading":
      return h(`h${Math.min(6, 2 + (e.level || 1))}`, attrs, e.text);
    case "list_item":
      return h("li", { ...attrs, className: `level-${Math.min(4, e.level || 1)}` }, e.text);
    case "table":
      return e.table ? renderTable(e, attrs) : h("pre", attrs, e.text);
    case "code":
      return h("pre", attrs, h("code", {}, e.text));
    case "caption":
      return h("p", { ...attrs, className: "caption" }, e.text);
    case "footnote":
      return h("aside", { ...attrs, className: "footnote" }, h("strong", {}, "Footnote: "), e.text);
    case "notes":
      return h("aside", { ...attrs, className: "notes" }, h("strong", {}, "Notes: "), e.text);
    case "image":
      return h("p", { ...attrs, className: "image" }, `[Image${e.text ? `: ${e.text}` : ""}]`);
    default:
      return e.text ? h("p", attrs, e.text) : null;
  }
}

function renderTable(e, attrs) {
  const header = e.table.header_rows || 0;
  const rows = e.table.rows.map((row, r) =>
    h(
      "tr",
      {},
      row.map((cell) =>
        h(r < header ? "th" : "td", { colSpan: cell.colspan || 1, rowSpan: cell.rowspan || 1 }, cell.text),
      ),
    ),
  );
  return h(
    "div",
    { ...attrs, className: "scroll" },
    h(
      "table",
      { className: "doc-table" },
      e.caption ? h("caption", {}, e.caption) : null,
      header ? h("thead", {}, rows.slice(0, header)) : null,
      h("tbody", {}, rows.slice(header)),
    ),
  );
}

function renderPage(page) {
  const confidence = page.ocr_confidence == null ? "–" : `${Math.round(page.ocr_confidence * 100)} %`;
  return h(
    "tr",
    {},
    h("td", { className: "num" }, String(page.number)),
    h("td", {}, h("span", { className: `source ${page.text_source}` }, page.text_source)),
    h("td", { className: "num" }, confidence),
    h("td", { className: "num" }, page.width ? `${Math.round(page.width)} × ${Math.round(page.height)}` : "–"),
  );
}

// The original bytes need the key, which a plain link cannot send: fetch them, then save.
async function download() {
  const id = current;
  if (!id) return;
  const button = byId("file-download");
  button.disabled = true;
  try {
    const response = await fetch(apiUrl(`/api/v1/files/${encodeURIComponent(id)}/content`), {
      headers: { Authorization: `Bearer ${savedKey()}` },
      credentials: "omit",
    });
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      throw new ApiError(response.status, problem);
    }
    const name = byId("file-title").textContent || id;
    const url = URL.createObjectURL(await response.blob());
    const link = h("a", { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (error) {
    message(byId("file-note"), `Cannot download the original: ${describe(error)}`);
  } finally {
    button.disabled = false;
  }
}
