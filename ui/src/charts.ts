// Draws ChartData with Chart.js on a canvas. Animation off: a kiosk shows the numbers at once.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartDataset,
} from "chart.js";
import type { ChartData, ChartSeries } from "./chartData";

Chart.register(BarController, BarElement, CategoryScale, Filler, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip);

const ACCENT = "#e8b04b";
const LINE = "#7dd3fc";
const BAND = "rgba(232, 176, 75, 0.22)";
const GRID = "rgba(255, 255, 255, 0.08)";
const TEXT = "#9aa1ac";

function dataset(s: ChartSeries): ChartDataset<"line" | "bar", (number | null)[]> {
  const common = { label: s.label, data: s.data };
  switch (s.role) {
    case "bar":
      return { ...common, type: "bar", backgroundColor: ACCENT, borderRadius: 6 };
    case "line":
      return { ...common, type: "line", borderColor: LINE, backgroundColor: LINE, pointRadius: 0, borderWidth: 2, spanGaps: false };
    case "forecast":
      return { ...common, type: "line", borderColor: ACCENT, backgroundColor: ACCENT, pointRadius: 0, borderWidth: 2, borderDash: [6, 4] };
    case "band-lo":
      return { ...common, type: "line", borderColor: "transparent", pointRadius: 0, fill: false };
    case "band-hi":
      // Filled down to the previous dataset (the low edge): the 80 % band.
      return { ...common, type: "line", borderColor: "transparent", backgroundColor: BAND, pointRadius: 0, fill: "-1" };
  }
}

/** Replaces whatever chart the canvas held. */
export function drawChart(canvas: HTMLCanvasElement, data: ChartData, yTitle: string): Chart {
  Chart.getChart(canvas)?.destroy();
  return new Chart(canvas, {
    type: data.series.some((s) => s.role === "bar") ? "bar" : "line",
    data: { labels: data.labels, datasets: data.series.map(dataset) as ChartDataset<"line", (number | null)[]>[] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: { labels: { color: TEXT, filter: (item) => !item.text.startsWith("80 % low") } },
      },
      scales: {
        x: { ticks: { color: TEXT, maxTicksLimit: 8 }, grid: { color: GRID } },
        y: { beginAtZero: true, title: { display: true, text: yTitle, color: TEXT }, ticks: { color: TEXT }, grid: { color: GRID } },
      },
    },
  });
}

export function clearChart(canvas: HTMLCanvasElement): void {
  Chart.getChart(canvas)?.destroy();
}
