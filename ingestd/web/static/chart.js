// Charts in plain SVG, built node by node (no HTML strings, no inline styles: the page's
// Content-Security-Policy allows neither). Colours come from classes in dashboard.css.

const NS = "http://www.w3.org/2000/svg";

function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function frame(label, width, height) {
  return svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": label,
    class: "chart",
  }, svg("title", {}, label));
}

/**
 * Lines over time. `series`: [{name, className, points: [[t (ms), value], …]}], all on one
 * y axis from 0 to the largest value; `format(value)` writes the axis labels.
 */
export function lineChart(
  label,
  series,
  { format = String, width = 420, height = 150, span = null, time = (t) => new Date(t).toLocaleTimeString() } = {},
) {
  const chart = frame(label, width, height);
  const pad = { left: 58, right: 8, top: 10, bottom: 20 };
  const all = series.flatMap((s) => s.points);
  const now = all.length ? Math.max(...all.map((p) => p[0])) : Date.now();
  const start = span ? now - span : (all.length ? Math.min(...all.map((p) => p[0])) : now - 60_000);
  const top = Math.max(...all.map((p) => p[1]), 0) || 1;
  const x = (t) => pad.left + ((t - start) / Math.max(1, now - start)) * (width - pad.left - pad.right);
  const y = (v) => height - pad.bottom - (v / top) * (height - pad.top - pad.bottom);
  chart.append(
    svg("line", { x1: pad.left, y1: y(0), x2: width - pad.right, y2: y(0), class: "axis" }),
    svg("line", { x1: pad.left, y1: y(top), x2: width - pad.right, y2: y(top), class: "grid" }),
    svg("text", { x: pad.left - 4, y: y(top) + 4, class: "tick", "text-anchor": "end" }, format(top)),
    svg("text", { x: pad.left - 4, y: y(0), class: "tick", "text-anchor": "end" }, format(0)),
    svg("text", { x: pad.left, y: height - 4, class: "tick" }, time(start)),
    svg("text", { x: width - pad.right, y: height - 4, class: "tick", "text-anchor": "end" }, time(now)),
  );
  series.forEach((s, i) => {
    const points = s.points.filter((p) => p[0] >= start);
    if (points.length) {
      chart.append(svg("polyline", {
        points: points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" "),
        class: `line ${s.className || `series-${i}`}`,
        "data-series": s.name,
      }));
      if (points.length <= 40) {
        // Few points (a day a point): mark each, so a lone one shows too.
        for (const p of points) chart.append(svg("circle", { cx: x(p[0]).toFixed(1), cy: y(p[1]).toFixed(1), r: 2.5, class: `dot ${s.className || `series-${i}`}` }));
      }
    }
  });
  return chart;
}

/** Horizontal bars: items [{label, value, className?}], longest first as given. */
export function barChart(label, items, { format = String, width = 420, row = 22 } = {}) {
  const height = Math.max(row, items.length * row) + 4;
  const chart = frame(label, width, height);
  const labelWidth = 130;
  const top = Math.max(...items.map((i) => i.value), 0) || 1;
  items.forEach((item, i) => {
    const y = i * row + 2;
    const length = ((width - labelWidth - 60) * item.value) / top;
    chart.append(
      svg("text", { x: labelWidth - 6, y: y + row * 0.7, class: "tick", "text-anchor": "end" }, item.label),
      svg("rect", { x: labelWidth, y: y + 3, width: Math.max(1, length).toFixed(1), height: row - 6, class: `chart-bar ${item.className || ""}`, "data-label": item.label }),
      svg("text", { x: labelWidth + length + 6, y: y + row * 0.7, class: "tick" }, format(item.value)),
    );
  });
  return chart;
}

/** A chart's place: its caption, and the chart, or a line saying there is nothing yet. */
export function place(node, chart, emptyText, empty) {
  node.replaceChildren(empty ? Object.assign(document.createElement("p"), { className: "empty", textContent: emptyText }) : chart);
}
