import { describe, expect, it } from "vitest";
import { aisleData, forecastData, stockHistoryData } from "./chartData";

describe("chart data", () => {
  it("stock history is one line over its days", () => {
    const d = stockHistoryData({ label: "on hand", points: [{ day: "2026-01-01", value: 5 }, { day: "2026-01-02", value: 3 }] });
    expect(d.labels).toEqual(["2026-01-01", "2026-01-02"]);
    expect(d.series).toEqual([{ label: "on hand", role: "line", data: [5, 3] }]);
  });

  it("forecast follows history on one axis, band and mean joined to the last day", () => {
    const d = forecastData({
      sku: "T-1",
      method: "ets",
      history: { label: "units sold", points: [{ day: "d1", value: 2 }, { day: "d2", value: 4 }] },
      forecast: [
        { day: "d3", mean: 3, lo: 1, hi: 5 },
        { day: "d4", mean: 3.5, lo: 1.5, hi: 6 },
      ],
      backtest_mase: 0.8,
    });
    expect(d.labels).toEqual(["d1", "d2", "d3", "d4"]);
    const byRole = Object.fromEntries(d.series.map((s) => [s.role, s]));
    expect(byRole.line.data).toEqual([2, 4, null, null]);
    expect(byRole.forecast.data).toEqual([null, 4, 3, 3.5]);
    expect(byRole["band-lo"].data).toEqual([null, 4, 1, 1.5]);
    expect(byRole["band-hi"].data).toEqual([null, 4, 5, 6]);
    expect(byRole.forecast.label).toBe("forecast (ets)");
    for (const s of d.series) expect(s.data).toHaveLength(d.labels.length);
  });

  it("a forecast without history still lines up", () => {
    const d = forecastData({ sku: "x", method: "naive", history: { label: "h", points: [] }, forecast: [{ day: "d1", mean: 1, lo: 0, hi: 2 }], backtest_mase: null });
    expect(d.labels).toEqual(["d1"]);
    for (const s of d.series) expect(s.data).toHaveLength(1);
  });

  it("aisles show what went missing as positive bars, worst first", () => {
    const d = aisleData([
      { aisle: "A1", units: -2, value_at_cost: -10 },
      { aisle: "A5", units: -9, value_at_cost: -40.5 },
      { aisle: "A2", units: -1, value_at_cost: -10 },
      { aisle: "BACKROOM", units: 3, value_at_cost: 12 },
      { aisle: "A3", units: 0, value_at_cost: 0 },
    ]);
    expect(d.labels).toEqual(["A5", "A1", "A2", "A3", "BACKROOM"]);
    expect(d.series[0].data).toEqual([40.5, 10, 10, 0, -12]);
    expect(d.series[0].label).toBe("missing at cost");
  });
});
