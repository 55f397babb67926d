// Building DOM nodes without HTML strings: every value from the API goes in as text, so a file
// named "<img onerror=…>" stays a name (and the page's Trusted Types policy never has to allow
// an HTML sink).

/** An element: h("td", {className: "num", title: "…"}, "text", childNode, …). */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
}

export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node;
}

/** Replace a node's children. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
}

/** A <progress> with its percentage as text for assistive technology and older browsers. */
export function bar(percent, label) {
  const value = Math.max(0, Math.min(100, Number(percent) || 0));
  return h("progress", { max: 100, value, "aria-label": label }, `${value.toFixed(0)}%`);
}

/** A status word styled by its value: .status.running, .status.failed, … */
export function statusBadge(status) {
  return h("span", { className: `status ${status}` }, status);
}

/** A <dl> of [term, value] pairs. */
export function summary(node, pairs) {
  fill(node, pairs.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

/** Show one message in an element, or hide it with null. */
export function message(node, text) {
  node.textContent = text || "";
  node.hidden = !text;
}

/**
 * Run `fn(keys)` once, `ms` after the first of a burst of calls, with every key asked for in the
 * burst: many events about one job or file make one request, not one each.
 */
export function batcher(fn, ms = 250) {
  let keys = new Set();
  let timer = 0;
  return (key) => {
    keys.add(key);
    if (timer) return;
    timer = setTimeout(() => {
      const due = keys;
      keys = new Set();
      timer = 0;
      fn([...due]);
    }, ms);
  };
}

/** Call `render()` at most once per animation frame however many times this is called. */
export function framed(render) {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      render();
    });
  };
}
