use super::*;

/// A pure weekly pattern: Monday 10 … Sunday 0.
fn weekly(weeks: usize) -> Vec<f64> {
    let week = [10.0, 12.0, 14.0, 13.0, 20.0, 25.0, 0.0];
    (0..weeks * WEEK).map(|t| week[t % WEEK]).collect()
}

/// Deterministic pseudo-random numbers in [0, 1).
fn uniform(seed: u64) -> impl FnMut() -> f64 {
    let mut x = seed.max(1);
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn seasonal_naive_forecasts_a_pure_weekly_pattern_exactly() {
    let history = weekly(8);
    let fc = forecast(Method::SeasonalNaive, &history, 14).unwrap();
    assert_eq!(fc.mean, weekly(2));
    assert!(fc.sd.iter().all(|s| *s == 0.0), "no error in-sample");
    assert_eq!(fc.lo, fc.mean);
}

#[test]
fn holt_winters_learns_a_weekly_pattern() {
    let history = weekly(12);
    for method in [Method::HoltWinters, Method::HoltWintersDamped] {
        let fc = forecast(method, &history, 7).unwrap();
        for (got, want) in fc.mean.iter().zip(weekly(1)) {
            assert!((got - want).abs() < 1e-6, "{method}: {got} vs {want}");
        }
    }
}

#[test]
fn intervals_widen_with_the_horizon() {
    let mut noise = uniform(7);
    let history: Vec<f64> = weekly(10).iter().map(|y| y + 6.0 * noise()).collect();
    for method in [
        Method::Ses,
        Method::HoltWinters,
        Method::HoltWintersDamped,
        Method::Sba,
    ] {
        let fc = forecast(method, &history, 21).unwrap();
        let widths = &fc.sd;
        assert!(widths[0] > 0.0, "{method}");
        assert!(
            widths.windows(2).all(|w| w[1] >= w[0]),
            "{method}: {widths:?}"
        );
        assert!(widths[20] > widths[0], "{method}: {widths:?}");
        for k in 0..21 {
            assert!(fc.lo[k] <= fc.mean[k] && fc.mean[k] <= fc.hi[k]);
            assert!(fc.lo[k] >= 0.0);
        }
    }
    let snaive = forecast(Method::SeasonalNaive, &history, 21).unwrap();
    assert!(snaive.sd[7] > snaive.sd[6] && snaive.sd[14] > snaive.sd[7]);
}

#[test]
fn croston_and_sba_on_a_known_intermittent_series() {
    // 4 units every 4th day: size 4, interval 4, so Croston says 1 a day, whatever α.
    let history: Vec<f64> = (0..40)
        .map(|t| if t % 4 == 3 { 4.0 } else { 0.0 })
        .collect();
    let croston = forecast(Method::Croston, &history, 5).unwrap();
    for m in &croston.mean {
        assert!((m - 1.0).abs() < 1e-12, "{m}");
    }
    // SBA scales by (1 − α/2) for the α it picked: below 1, at least 1 − 0.3/2.
    let sba = forecast(Method::Sba, &history, 5).unwrap();
    assert!(sba.mean[0] < 1.0 && sba.mean[0] >= 0.85, "{}", sba.mean[0]);
    assert!(sba.mean.iter().all(|m| *m == sba.mean[0]), "flat");
    assert_eq!(average_demand_interval(&history), Some(4.0));
}

#[test]
fn croston_by_hand_on_an_irregular_series() {
    // Demands 3 (day 1), 6 (day 4), 3 (day 6); α = 0.1 by hand:
    // start: size 3, interval 2 (first demand on the 2nd day);
    // day 4: size 3 + 0.1·(6 − 3) = 3.3, interval 2 + 0.1·(3 − 2) = 2.1;
    // day 6: size 3.3 + 0.1·(3 − 3.3) = 3.27, interval 2.1 + 0.1·(2 − 2.1) = 2.09.
    let history = [0.0, 3.0, 0.0, 0.0, 6.0, 0.0, 3.0];
    let (alpha, rate, _) = crate::methods::run_croston(&history, 0.1, false);
    assert_eq!(alpha, 0.1);
    assert!((rate - 3.27 / 2.09).abs() < 1e-12, "{rate}");
}

#[test]
fn too_short_or_broken_histories_are_refused_with_the_reason() {
    let err = forecast(Method::HoltWintersDamped, &[1.0; 5], 7).unwrap_err();
    assert!(err.to_string().contains("at least 14 days"), "{err}");
    let err = forecast(Method::Ses, &[1.0, f64::NAN], 7).unwrap_err();
    assert_eq!(err, ForecastError::NotFinite(1));
}

#[test]
fn mase_scales_by_in_sample_seasonal_naive() {
    // In-sample seasonal differences are all 2 (the series climbs 2 per week).
    let train: Vec<f64> = (0..21).map(|t| (t / WEEK) as f64 * 2.0).collect();
    assert_eq!(mase(&train, &[5.0, 5.0], &[6.0, 4.0]), Some(0.5));
    assert_eq!(mase(&weekly(3), &[1.0], &[2.0]), None, "a zero scale");
}

#[test]
fn the_backtest_prefers_seasonal_methods_for_seasonal_demand_and_sba_for_intermittent() {
    let mut noise = uniform(11);
    let seasonal: Vec<f64> = weekly(16)
        .iter()
        .map(|y| (y + 4.0 * noise() - 2.0).max(0.0))
        .collect();
    let choice = select(&seasonal, &SelectOptions::default());
    assert!(
        matches!(
            choice.method,
            Method::HoltWinters | Method::HoltWintersDamped | Method::SeasonalNaive
        ),
        "{choice:?}"
    );
    let flat_scores: Vec<_> = choice
        .scores
        .iter()
        .filter(|s| s.method == Method::Ses)
        .collect();
    assert!(flat_scores[0].mase.unwrap() > choice.mase.unwrap());

    let mut noise = uniform(5);
    let sparse: Vec<f64> = (0..120)
        .map(|_| {
            if noise() < 0.15 {
                (1.0 + 3.0 * noise()).round()
            } else {
                0.0
            }
        })
        .collect();
    let choice = select(&sparse, &SelectOptions::default());
    assert!(
        matches!(choice.method, Method::Sba | Method::Croston | Method::Ses),
        "{choice:?}"
    );
    assert!(choice.mase.unwrap() < rolling_mase(Method::SeasonalNaive, &sparse, 7, 3).unwrap());

    // Too short to backtest: chosen by the shape of demand.
    let short = select(
        &[0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 2.0, 0.0],
        &SelectOptions::default(),
    );
    assert_eq!((short.method, short.mase), (Method::Sba, None));
}

#[test]
fn the_normal_quantile_matches_tables() {
    for (p, z) in [
        (0.5, 0.0),
        (0.8, 0.841_621_233_572_914),
        (0.9, Z80),
        (0.95, 1.644_853_626_951_472),
        (0.975, 1.959_963_984_540_054),
        (0.99, 2.326_347_874_040_841),
        (0.001, -3.090_232_306_167_813),
    ] {
        assert!(
            (normal_quantile(p) - z).abs() < 1e-8,
            "p {p}: {}",
            normal_quantile(p)
        );
    }
}

#[test]
fn reorder_point_and_quantity_follow_lead_time_service_level_and_packs() {
    // 10 a day with sd 2 each day: over a 4-day lead time demand is 40 with sd 4.
    let (mean, sd) = ([10.0], [2.0]);
    let policy = ReorderPolicy {
        lead_time_days: 4,
        review_period_days: 5,
        service_level: 0.95,
        pack_size: 12,
    };
    let z = normal_quantile(0.95);
    let advice = reorder_advice(&mean, &sd, 30.0, &policy).unwrap();
    assert!((advice.lead_time_demand - 40.0).abs() < 1e-9);
    assert!((advice.safety_stock - z * 4.0).abs() < 1e-9);
    assert!((advice.reorder_point - (40.0 + z * 4.0)).abs() < 1e-9);
    // Up to 90 + z·6 ≈ 99.9 from 30: 70 units → 6 packs of 12.
    assert!((advice.order_up_to - (90.0 + z * 6.0)).abs() < 1e-9);
    assert_eq!((advice.order_quantity, advice.packs), (72, 6));

    let plenty = reorder_advice(&mean, &sd, 60.0, &policy).unwrap();
    assert_eq!(plenty.order_quantity, 0);
    let higher = ReorderPolicy {
        service_level: 0.99,
        ..policy
    };
    assert!(
        reorder_advice(&mean, &sd, 30.0, &higher)
            .unwrap()
            .reorder_point
            > advice.reorder_point
    );
    let bad = ReorderPolicy {
        service_level: 1.0,
        ..policy
    };
    assert!(reorder_advice(&mean, &sd, 30.0, &bad).is_err());
    assert_eq!(
        reorder_advice(&[0.0], &[0.0], 0.0, &policy)
            .unwrap()
            .order_quantity,
        0
    );
    let fc = forecast(Method::SeasonalNaive, &weekly(4), 14).unwrap();
    let weekly_advice = reorder_advice(&fc.mean, &fc.sd, 0.0, &policy).unwrap();
    assert_eq!(weekly_advice.lead_time_demand, 10.0 + 12.0 + 14.0 + 13.0);
}
