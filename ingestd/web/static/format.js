// Numbers as people read them: sizes, rates, durations, times.

const UNITS = ["B", "KB", "MB", "GB", "TB", "PB"];

export function bytes(n) {
  if (n === null || n === undefined) return "–";
  let value = Number(n);
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

export function rate(bytesPerSecond) {
  if (bytesPerSecond === null || bytesPerSecond === undefined) return "–";
  return `${bytes(bytesPerSecond)}/s`;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  let s = Math.max(0, Math.round(Number(seconds)));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (h) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m) return `${m}m ${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}

export function count(n) {
  return Number(n || 0).toLocaleString();
}

/** An RFC 3339 time as local date and time, with the exact value for a tooltip. */
export function when(iso) {
  if (!iso) return { text: "–", title: "" };
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return { text: iso, title: iso };
  const today = new Date().toDateString() === date.toDateString();
  const text = today
    ? date.toLocaleTimeString()
    : `${date.toLocaleDateString()} ${date.toLocaleTimeString()}`;
  return { text, title: iso };
}

/** Seconds since an RFC 3339 time, as "12s ago". */
export function ago(iso) {
  if (!iso) return "–";
  const seconds = (Date.now() - new Date(iso).getTime()) / 1000;
  return `${duration(seconds)} ago`;
}
