//! How well the forecasts do on real demand: a rolling-origin backtest over the UCI Online
//! Retail transactions (one year of a UK gift-ware retailer's invoice lines), each method
//! and the per-SKU backtest choice scored by MASE against seasonal naive.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Serialize;
use vitrine_forecast::{forecast, mase, select, Method, SelectOptions};

/// Why the history could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error(
        "{} not found: the UCI Online Retail history (online_retail.csv.gz) is expected in \
         ../shared/data/online-retail; pass --data PATH to point elsewhere",
        path.display()
    )]
    Missing { path: PathBuf },
    #[error("cannot read {}: {detail}", path.display())]
    Unreadable { path: PathBuf, detail: String },
}

/// Daily net units per item over the file's whole span.
#[derive(Debug, Clone)]
pub struct DailyItems {
    /// UTC day number of the first day.
    pub first_day: i64,
    pub days: usize,
    /// Item code → net units per day (cancellations netted, negative days clipped to 0),
    /// and the number of days it sold.
    pub items: Vec<(String, Vec<f64>, usize)>,
}

/// Reads `InvoiceNo, StockCode, Quantity, InvoiceDate, UnitPrice` from the (optionally
/// gzipped) CSV. Rows with a non-positive price, and codes that are not products (postage,
/// fees, manual lines: codes not starting with a digit), are left out; cancellations
/// (invoice `C…`, negative quantity) are netted into their day.
pub fn load_online_retail(path: &Path) -> Result<DailyItems, EvalError> {
    let file = File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => EvalError::Missing {
            path: path.to_path_buf(),
        },
        _ => EvalError::Unreadable {
            path: path.to_path_buf(),
            detail: e.to_string(),
        },
    })?;
    let input: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::GzDecoder::new(BufReader::new(file)))
    } else {
        Box::new(BufReader::new(file))
    };
    let unreadable = |detail: String| EvalError::Unreadable {
        path: path.to_path_buf(),
        detail,
    };
    let mut reader = csv::Reader::from_reader(input);
    let header = reader
        .headers()
        .map_err(|e| unreadable(e.to_string()))?
        .clone();
    let find = |name: &str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| unreadable(format!("no {name} column")))
    };
    let (code_at, qty_at, date_at, price_at) = (
        find("StockCode")?,
        find("Quantity")?,
        find("InvoiceDate")?,
        find("UnitPrice")?,
    );
    // (code, day) → (net units, sold units)
    let mut per_day: HashMap<(String, i64), (i64, i64)> = HashMap::new();
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    for (n, record) in reader.records().enumerate() {
        let record = record.map_err(|e| unreadable(format!("line {}: {e}", n + 2)))?;
        let code = record.get(code_at).unwrap_or("").trim();
        if !code.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        let price: f64 = record
            .get(price_at)
            .unwrap_or("")
            .trim()
            .parse()
            .unwrap_or(0.0);
        let Ok(quantity) = record.get(qty_at).unwrap_or("").trim().parse::<i64>() else {
            continue;
        };
        let Some(day) = record.get(date_at).and_then(day_of_date) else {
            continue;
        };
        if price <= 0.0 {
            continue;
        }
        first = first.min(day);
        last = last.max(day);
        let at = per_day.entry((code.to_owned(), day)).or_default();
        at.0 += quantity;
        if quantity > 0 {
            at.1 += quantity;
        }
    }
    if first > last {
        return Err(unreadable("no sales rows".into()));
    }
    let days = (last - first + 1) as usize;
    let mut by_code: HashMap<String, (Vec<f64>, usize)> = HashMap::new();
    for ((code, day), (net, sold)) in per_day {
        let entry = by_code.entry(code).or_insert_with(|| (vec![0.0; days], 0));
        entry.0[(day - first) as usize] = net.max(0) as f64;
        if sold > 0 {
            entry.1 += 1;
        }
    }
    let mut items: Vec<(String, Vec<f64>, usize)> = by_code
        .into_iter()
        .map(|(code, (units, selling))| (code, units, selling))
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(DailyItems {
        first_day: first,
        days,
        items,
    })
}

/// `2011-12-09 12:50:00` (or with a `T`) → UTC day number.
fn day_of_date(text: &str) -> Option<i64> {
    let date = text.trim().get(..10)?;
    let mut parts = date.split('-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: i64 = parts.next()?.parse().ok()?;
    let day: i64 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(vitrine_store::days_from_civil(year, month, day))
}

/// How the evaluation backtests.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalOptions {
    /// Items need at least this many selling days.
    pub min_selling_days: usize,
    /// Days forecast from each origin.
    pub horizon: usize,
    /// Evaluation origins, one horizon apart, the last leaving `horizon` days.
    pub origins: usize,
    /// Threads to spread the items over.
    pub threads: usize,
    /// How the per-item choice backtests (on the history before each origin).
    pub select: SelectOptions,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            min_selling_days: 100,
            horizon: 7,
            origins: 8,
            threads: std::thread::available_parallelism().map_or(2, usize::from),
            select: SelectOptions::default(),
        }
    }
}

/// Mean MASE of one method (or of the per-item choice) over the items.
#[derive(Debug, Clone, Serialize)]
pub struct MethodScore {
    pub method: String,
    pub mase: f64,
    /// Against seasonal naive's mean MASE: 0.8 is 20 % better.
    pub relative_to_seasonal_naive: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvalResult {
    pub items: usize,
    pub origins: usize,
    pub horizon: usize,
    pub methods: Vec<MethodScore>,
    /// The per-item choice: at each origin, the method with the best backtest on the
    /// history before it (so the choice never sees the days it is scored on).
    pub chosen: MethodScore,
    /// How often each method was chosen, over items × origins.
    pub choices: Vec<(String, usize)>,
}

/// Per item and origin: every method's MASE and the chosen one's.
fn score_item(history: &[f64], options: &EvalOptions) -> Option<(Vec<f64>, f64, Vec<Method>)> {
    let n = history.len();
    let mut sums = vec![0.0; Method::ALL.len()];
    let mut chosen_sum = 0.0;
    let mut scored = 0usize;
    let mut picks = Vec::new();
    for back in 1..=options.origins {
        let origin = n.checked_sub(back * options.horizon)?;
        let train = &history[..origin];
        let actual = &history[origin..origin + options.horizon];
        let mut row = Vec::with_capacity(Method::ALL.len());
        for method in Method::ALL {
            let fc = forecast(method, train, options.horizon).ok()?;
            row.push(mase(train, &fc.mean, actual)?);
        }
        let choice = select(train, &options.select);
        let at = Method::ALL.iter().position(|m| *m == choice.method)?;
        for (sum, score) in sums.iter_mut().zip(&row) {
            *sum += score;
        }
        chosen_sum += row[at];
        picks.push(choice.method);
        scored += 1;
    }
    (scored > 0).then(|| {
        let scored = scored as f64;
        (
            sums.into_iter().map(|s| s / scored).collect(),
            chosen_sum / scored,
            picks,
        )
    })
}

/// Backtests every item that sold on enough days; items whose scale is zero somewhere are
/// left out.
pub fn evaluate(data: &DailyItems, options: &EvalOptions) -> EvalResult {
    let series: Vec<&Vec<f64>> = data
        .items
        .iter()
        .filter(|(_, _, selling)| *selling >= options.min_selling_days)
        .map(|(_, units, _)| units)
        .collect();
    let threads = options.threads.max(1);
    let chunk = series.len().div_ceil(threads).max(1);
    let results: Vec<(Vec<f64>, f64, Vec<Method>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = series
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .filter_map(|h| score_item(h, options))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a scoring thread panicked"))
            .collect()
    });
    let items = results.len().max(1) as f64;
    let means: Vec<f64> = (0..Method::ALL.len())
        .map(|i| results.iter().map(|r| r.0[i]).sum::<f64>() / items)
        .collect();
    let naive_at = Method::ALL
        .iter()
        .position(|m| *m == Method::SeasonalNaive)
        .expect("seasonal naive is a method");
    let naive = means[naive_at];
    let score = |method: String, mase: f64| MethodScore {
        method,
        mase,
        relative_to_seasonal_naive: mase / naive,
    };
    let chosen = results.iter().map(|r| r.1).sum::<f64>() / items;
    let mut choices: Vec<(String, usize)> = Method::ALL
        .iter()
        .map(|m| {
            let count = results
                .iter()
                .flat_map(|r| &r.2)
                .filter(|p| *p == m)
                .count();
            (m.name().to_owned(), count)
        })
        .collect();
    choices.sort_by(|a, b| b.1.cmp(&a.1));
    EvalResult {
        items: results.len(),
        origins: options.origins,
        horizon: options.horizon,
        methods: Method::ALL
            .iter()
            .zip(&means)
            .map(|(m, mase)| score(m.name().to_owned(), *mase))
            .collect(),
        chosen: score("chosen per item".to_owned(), chosen),
        choices,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_become_day_numbers() {
        assert_eq!(day_of_date("1970-01-01 00:00:00"), Some(0));
        assert_eq!(day_of_date("2011-12-09 12:50:00"), Some(15_317));
        assert_eq!(day_of_date("2000-02-29"), Some(11_016));
        assert_eq!(day_of_date("2011-13-01"), None);
        assert_eq!(day_of_date("junk"), None);
    }

    #[test]
    fn a_small_file_is_netted_per_day_and_filtered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("retail.csv");
        std::fs::write(
            &path,
            "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n\
             1,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n\
             2,85123A,HEART,4,2010-12-01 09:00:00,2.55,17850,United Kingdom\n\
             C3,85123A,HEART,-3,2010-12-01 10:00:00,2.55,17850,United Kingdom\n\
             C4,85123A,HEART,-9,2010-12-03 10:00:00,2.55,17850,United Kingdom\n\
             5,POST,POSTAGE,1,2010-12-02 10:00:00,18.00,12583,France\n\
             6,22752,DOLLS,2,2010-12-02 10:00:00,0,,United Kingdom\n\
             7,22752,DOLLS,1,2010-12-03 10:00:00,7.65,,United Kingdom\n",
        )
        .unwrap();
        let data = load_online_retail(&path).unwrap();
        assert_eq!(data.days, 3);
        let codes: Vec<&str> = data.items.iter().map(|i| i.0.as_str()).collect();
        assert_eq!(codes, ["22752", "85123A"]);
        assert_eq!(
            data.items[1].1,
            [7.0, 0.0, 0.0],
            "a net return day counts as 0"
        );
        assert_eq!(data.items[1].2, 1);
        assert_eq!(
            data.items[0].1,
            [0.0, 0.0, 1.0],
            "a free line is not a sale"
        );

        let err = load_online_retail(&dir.path().join("none.csv.gz")).unwrap_err();
        assert!(err.to_string().contains("--data"), "{err}");
    }
}
