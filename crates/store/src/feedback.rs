//! Shoppers' feedback as kept: rating, comment, scores, product; never who gave it.

use rusqlite::{params, OptionalExtension};

use crate::{Result, Store, StoreError};

/// Feedback to keep (scored by the caller).
#[derive(Debug, Clone, PartialEq)]
pub struct NewFeedback {
    /// "mirror" or "assistant".
    pub session: String,
    pub rating: Option<u8>,
    pub comment: Option<String>,
    pub product_code: Option<String>,
    pub sentiment: Option<f64>,
    /// "positive", "neutral" or "negative".
    pub label: String,
    pub topics: Vec<String>,
}

/// Feedback as the reports read it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FeedbackRow {
    pub created_ms: i64,
    pub day: i64,
    pub session: String,
    pub rating: Option<u8>,
    pub comment: Option<String>,
    pub product_code: Option<String>,
    pub product_name: Option<String>,
    pub sentiment: Option<f64>,
    pub label: String,
    pub topics: Vec<String>,
}

impl Store {
    /// Keeps one piece of feedback; an unknown product is refused, a rating outside 1–5 or
    /// neither rating nor comment too.
    pub fn add_feedback(&mut self, feedback: &NewFeedback, now_ms: i64) -> Result<()> {
        let product = match &feedback.product_code {
            Some(code) => Some(
                self.conn
                    .query_row("SELECT id FROM products WHERE code = ?1", [code], |r| r.get::<_, i64>(0))
                    .optional()?
                    .ok_or_else(|| StoreError::UnknownProduct(code.clone()))?,
            ),
            None => None,
        };
        let comment = feedback.comment.as_deref().map(str::trim).filter(|c| !c.is_empty());
        if feedback.rating.is_none() && comment.is_none() {
            return Err(StoreError::InvalidFeedback("give a rating or a comment".into()));
        }
        if feedback.rating.is_some_and(|r| !(1..=5).contains(&r)) {
            return Err(StoreError::InvalidFeedback("a rating is 1 to 5 stars".into()));
        }
        if comment.is_some_and(|c| c.chars().count() > 500) {
            return Err(StoreError::InvalidFeedback("a comment is at most 500 characters".into()));
        }
        self.conn.execute(
            "INSERT INTO feedback (created_ms, day, session, rating, comment, product_id, sentiment, label, topics)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                now_ms,
                now_ms.div_euclid(86_400_000),
                feedback.session,
                feedback.rating,
                comment,
                product,
                feedback.sentiment,
                feedback.label,
                feedback.topics.join(",")
            ],
        )?;
        Ok(())
    }

    /// Feedback from `first_day` to `last_day` (UTC day numbers, both included), oldest first.
    pub fn feedback_between(&self, first_day: i64, last_day: i64) -> Result<Vec<FeedbackRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT f.created_ms, f.day, f.session, f.rating, f.comment, p.code, p.name, f.sentiment, f.label, f.topics
             FROM feedback f LEFT JOIN products p ON p.id = f.product_id
             WHERE f.day BETWEEN ?1 AND ?2 ORDER BY f.created_ms, f.id",
        )?;
        let rows = stmt
            .query_map([first_day, last_day], |r| {
                let topics: String = r.get(9)?;
                Ok(FeedbackRow {
                    created_ms: r.get(0)?,
                    day: r.get(1)?,
                    session: r.get(2)?,
                    rating: r.get(3)?,
                    comment: r.get(4)?,
                    product_code: r.get(5)?,
                    product_name: r.get(6)?,
                    sentiment: r.get(7)?,
                    label: r.get(8)?,
                    topics: topics.split(',').filter(|t| !t.is_empty()).map(str::to_owned).collect(),
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feedback_is_kept_without_who_and_bad_feedback_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        store.seed_demo_if_empty().unwrap();
        let good = NewFeedback {
            session: "assistant".into(),
            rating: Some(5),
            comment: Some(" Lovely staff ".into()),
            product_code: Some("VT-HOOD-DRIFT".into()),
            sentiment: Some(0.59),
            label: "positive".into(),
            topics: vec!["staff".into()],
        };
        store.add_feedback(&good, 86_400_000 * 20_000 + 5).unwrap();
        let rows = store.feedback_between(20_000, 20_000).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].comment.as_deref(), Some("Lovely staff"));
        assert_eq!(rows[0].product_name.as_deref(), Some("Drift Hoodie"));
        assert_eq!(rows[0].topics, vec!["staff"]);
        assert!(store.feedback_between(20_001, 20_010).unwrap().is_empty());

        let none = NewFeedback { rating: None, comment: Some("  ".into()), ..good.clone() };
        assert!(matches!(store.add_feedback(&none, 1), Err(StoreError::InvalidFeedback(_))));
        let stars = NewFeedback { rating: Some(9), ..good.clone() };
        assert!(store.add_feedback(&stars, 1).is_err());
        let unknown = NewFeedback { product_code: Some("NOPE".into()), ..good.clone() };
        assert!(matches!(store.add_feedback(&unknown, 1), Err(StoreError::UnknownProduct(_))));
        // The table has no column that could say who gave it.
        let columns: Vec<String> = store.conn.prepare("SELECT name FROM pragma_table_info('feedback')").unwrap().query_map([], |r| r.get(0)).unwrap().map(|c| c.unwrap()).collect();
        assert!(columns.iter().all(|c| !["staff", "session_id", "device", "actor", "user"].contains(&c.as_str())), "{columns:?}");
    }
}
