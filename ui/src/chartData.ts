// Report series → the labels and datasets a chart draws. Pure, so it is tested without a canvas.
import type { AisleDiscrepancy, ForecastChart, Series } from "./backend";

export type SeriesRole = "line" | "forecast" | "band-lo" | "band-hi" | "bar";

export interface ChartSeries {
  label: string;
  role: SeriesRole;
  /** One value per label; null where the series has no point (a gap, not a zero). */
  data: (number | null)[];
}

export interface ChartData {
  labels: string[];
  series: ChartSeries[];
}

/** Book stock day by day. */
export function stockHistoryData(history: Series): ChartData {
  return {
    labels: history.points.map((p) => p.day),
    series: [{ label: history.label, role: "line", data: history.points.map((p) => p.value) }],
  };
}

/**
 * Demand history, then the forecast with its 80 % band, on one day axis. The forecast line
 * starts at the last observed day so the two lines join.
 */
export function forecastData(chart: ForecastChart): ChartData {
  const history = chart.history.points;
  const known = new Set(history.map((p) => p.day));
  const ahead = chart.forecast.filter((f) => !known.has(f.day));
  const labels = [...history.map((p) => p.day), ...ahead.map((f) => f.day)];
  const pad = (n: number) => new Array<null>(n).fill(null);
  const gap = history.length > 0 ? history.length - 1 : 0;
  const last = history.length > 0 ? history[history.length - 1].value : null;
  const joined = (pick: (f: (typeof ahead)[number]) => number) =>
    history.length > 0 ? [...pad(gap), last, ...ahead.map(pick)] : ahead.map(pick);
  return {
    labels,
    series: [
      { label: chart.history.label, role: "line", data: [...history.map((p) => p.value), ...pad(ahead.length)] },
      { label: "80 % low", role: "band-lo", data: joined((f) => f.lo) },
      { label: "80 % band", role: "band-hi", data: joined((f) => f.hi) },
      { label: `forecast (${chart.method})`, role: "forecast", data: joined((f) => f.mean) },
    ],
  };
}

/**
 * Value missing per aisle at cost, worst first. The backend counts counted − book (negative
 * when units went missing); the chart shows what went missing as a positive bar, so overage
 * (more counted than booked) falls below zero.
 */
export function aisleData(rows: AisleDiscrepancy[]): ChartData {
  const missing = (r: AisleDiscrepancy) => (r.value_at_cost === 0 ? 0 : -r.value_at_cost);
  const sorted = [...rows].sort((a, b) => missing(b) - missing(a) || a.aisle.localeCompare(b.aisle));
  return {
    labels: sorted.map((r) => r.aisle),
    series: [{ label: "missing at cost", role: "bar", data: sorted.map(missing) }],
  };
}
