//! When to reorder and how much: reorder point and order-up-to level from a forecast, a
//! lead time, a review period and a service level; quantities rounded up to whole packs.

use serde::Serialize;

use crate::ForecastError;

/// How a SKU is replenished.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReorderPolicy {
    /// Days from ordering to having the goods on hand.
    pub lead_time_days: u32,
    /// Days between two stock reviews (0: reviewed continuously).
    pub review_period_days: u32,
    /// Wanted probability of not running out before the next delivery, in (0, 1).
    pub service_level: f64,
    /// Orders are whole packs of this many units.
    pub pack_size: u32,
}

/// What to do about one SKU now.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReorderAdvice {
    /// Expected demand over the lead time.
    pub lead_time_demand: f64,
    /// Stock held against forecast error over the lead time: z × sd.
    pub safety_stock: f64,
    /// Order when stock on hand is at or below this.
    pub reorder_point: f64,
    /// Stock to bring the SKU up to: demand over lead time plus review period, plus safety.
    pub order_up_to: f64,
    /// Units to order now (a whole number of packs; 0 when above the reorder point).
    pub order_quantity: u64,
    pub packs: u64,
}

/// The standard normal quantile (inverse CDF) at `p` in (0, 1), by Acklam's rational
/// approximation (relative error below 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const LOW: f64 = 0.024_25;
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// Reorder point and quantity for a SKU with `on_hand` units, from its forecast daily demand
/// `daily_mean` and forecast error sd `daily_sd` (a [`crate::Forecast`]'s `mean` and `sd`, or
/// one flat rate each).
///
/// Demand over a span of days is the sum of the daily means; its sd is the root sum of the
/// daily error variances (days beyond the slices repeat their last day). The reorder point
/// covers the lead time at the service level; at or below it, the order brings stock up to
/// what covers lead time plus review period, rounded up to whole packs.
pub fn reorder_advice(
    daily_mean: &[f64],
    daily_sd: &[f64],
    on_hand: f64,
    policy: &ReorderPolicy,
) -> Result<ReorderAdvice, ForecastError> {
    if !(policy.service_level > 0.0 && policy.service_level < 1.0) {
        return Err(ForecastError::InvalidPolicy(format!(
            "service level {} must be between 0 and 1",
            policy.service_level
        )));
    }
    if policy.pack_size == 0 {
        return Err(ForecastError::InvalidPolicy(
            "pack size must be at least 1".into(),
        ));
    }
    let z = normal_quantile(policy.service_level);
    let lead = policy.lead_time_days as usize;
    let cover = lead + policy.review_period_days as usize;
    let over = |days: usize| -> (f64, f64) {
        let day = |k: usize, values: &[f64]| -> f64 {
            values.get(k).or(values.last()).copied().unwrap_or(0.0)
        };
        let demand: f64 = (0..days).map(|k| day(k, daily_mean)).sum();
        let variance: f64 = (0..days).map(|k| day(k, daily_sd).powi(2)).sum();
        (demand, variance.sqrt())
    };
    let (lead_time_demand, lead_sd) = over(lead);
    let (cover_demand, cover_sd) = over(cover.max(lead));
    let safety_stock = (z * lead_sd).max(0.0);
    let reorder_point = lead_time_demand + safety_stock;
    let order_up_to = cover_demand + (z * cover_sd).max(0.0);
    let (order_quantity, packs) = if on_hand <= reorder_point && order_up_to > on_hand {
        let pack = u64::from(policy.pack_size);
        let wanted = (order_up_to - on_hand).ceil() as u64;
        let packs = wanted.div_ceil(pack);
        (packs * pack, packs)
    } else {
        (0, 0)
    };
    Ok(ReorderAdvice {
        lead_time_demand,
        safety_stock,
        reorder_point,
        order_up_to,
        order_quantity,
        packs,
    })
}
