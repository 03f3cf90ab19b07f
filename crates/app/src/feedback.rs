//! Shoppers' feedback at the end of an assistant or mirror session: scored on the device
//! (vitrine-feedback), kept as text, stars, scores and product, never who gave it; the
//! managers' trend chart.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use tracing::warn;
use vitrine_auth::{Permission, SessionSlot};
use vitrine_feedback::{Label, Scorer, Topic};
use vitrine_reports::Series;
use vitrine_store::NewFeedback;

use crate::{App, AppError};

/// Where the VADER lexicon lives: `models/sentiment/vader_lexicon.txt` (scripts/setup.sh).
pub fn sentiment_lexicon_path(config: &vitrine_config::Config) -> PathBuf {
    config.inference.models_dir.join("sentiment/vader_lexicon.txt")
}

/// The learned feedback model (`vitrine train feedback` writes it).
pub fn feedback_model_path(config: &vitrine_config::Config) -> PathBuf {
    config.inference.models_dir.join("sentiment/classifier.json")
}

/// What a shopper gave.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct FeedbackInput {
    /// "mirror" or "assistant".
    pub session: String,
    pub rating: Option<u8>,
    pub comment: Option<String>,
    pub product_code: Option<String>,
}

/// How it was read.
#[derive(Debug, Clone, Serialize)]
pub struct FeedbackReceipt {
    pub label: Label,
    pub topics: Vec<Topic>,
    pub sentiment: Option<f64>,
}

impl App {
    /// Scores and keeps a shopper's rating and/or comment.
    pub fn submit_feedback(&self, input: &FeedbackInput) -> Result<FeedbackReceipt, AppError> {
        if !matches!(input.session.as_str(), "mirror" | "assistant") {
            return Err(AppError::Invalid(format!("feedback is for a mirror or assistant session, not {:?}", input.session)));
        }
        let comment = input.comment.as_deref().map(str::trim).filter(|c| !c.is_empty());
        if input.rating.is_none() && comment.is_none() {
            return Err(AppError::Invalid("Tap a star or write a few words first.".into()));
        }
        let scorer = self.feedback_scorer();
        let embedding = comment.filter(|_| scorer.has_model()).and_then(|c| self.embed_text(c).map_err(|e| warn!(error = %e, "feedback scored without its embedding")).ok());
        let scored = scorer.score_with(input.rating, comment.unwrap_or(""), embedding.as_deref()).map_err(|e| AppError::Invalid(e.to_string()))?;
        let row = NewFeedback {
            session: input.session.clone(),
            rating: input.rating,
            comment: comment.map(str::to_owned),
            product_code: input.product_code.clone(),
            sentiment: scored.sentiment,
            label: scored.label.as_str().to_owned(),
            topics: scored.topics.iter().map(|t| t.as_str().to_owned()).collect(),
        };
        self.with_store(|store| Ok(store.add_feedback(&row, vitrine_auth::now_ms())?))?;
        Ok(FeedbackReceipt { label: scored.label, topics: scored.topics, sentiment: scored.sentiment })
    }

    /// Net positive feedback day by day (managers).
    pub fn feedback_trend(&self, slot: &SessionSlot, days: u32) -> Result<Series, AppError> {
        slot.authorize(Permission::Reports, vitrine_auth::now_ms())?;
        self.with_store(|store| Ok(vitrine_reports::feedback_trend(store, days)?))
    }

    /// The scorer, made once; without the lexicon it labels by stars alone (and says so).
    pub(crate) fn feedback_scorer(&self) -> Arc<Scorer> {
        let mut slot = self.feedback.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert_with(|| {
            let path = sentiment_lexicon_path(&self.config);
            let lexicon = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()));
            let scorer = match lexicon.as_deref().map(|l| Scorer::new(Some(l))) {
                Ok(Ok(scorer)) => scorer,
                Ok(Err(e)) => {
                    warn!(error = %e, "feedback comments are not scored: stars only");
                    Scorer::new(None).expect("no lexicon to parse")
                }
                Err(e) => {
                    warn!(error = %e, "feedback comments are not scored: stars only");
                    Scorer::new(None).expect("no lexicon to parse")
                }
            };
            let model_path = feedback_model_path(&self.config);
            let scorer = match std::fs::read_to_string(&model_path).map_err(|e| e.to_string()).and_then(|t| serde_json::from_str::<vitrine_feedback::FeedbackModel>(&t).map_err(|e| e.to_string())) {
                Ok(model) => scorer.with_model(model),
                Err(e) => {
                    warn!(path = %model_path.display(), error = %e, "feedback read by the lexicon alone");
                    scorer
                }
            };
            Arc::new(scorer)
        })
        .clone()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use vitrine_config::Config;

    use super::*;

    #[test]
    fn feedback_is_scored_kept_without_who_and_reported_to_managers_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.store.database = dir.path().join("kiosk.db");
        config.inference.models_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
        let app = App::start(config);
        let got = app
            .submit_feedback(&FeedbackInput { session: "assistant".into(), rating: Some(2), comment: Some("The clerk was so kind, but the hoodie was sold out in M.".into()), product_code: Some("VT-HOOD-DRIFT".into()) })
            .unwrap();
        assert!(got.sentiment.is_some(), "scored with the lexicon from models/sentiment");
        assert!(app.feedback_scorer().has_model(), "and the learned model beside it");
        assert!(got.topics.contains(&Topic::Staff) && got.topics.contains(&Topic::Stock), "{got:?}");
        app.submit_feedback(&FeedbackInput { session: "mirror".into(), rating: Some(5), comment: None, product_code: None }).unwrap();
        for bad in [
            FeedbackInput { session: "mirror".into(), ..FeedbackInput::default() },
            FeedbackInput { session: "spy".into(), rating: Some(3), ..FeedbackInput::default() },
            FeedbackInput { session: "mirror".into(), rating: Some(0), ..FeedbackInput::default() },
            FeedbackInput { session: "mirror".into(), comment: Some("x".repeat(501)), ..FeedbackInput::default() },
        ] {
            assert!(matches!(app.submit_feedback(&bad), Err(AppError::Invalid(_))), "{bad:?}");
        }

        let slot = app.session_slot();
        assert!(app.feedback_trend(&slot, 30).is_err(), "not signed in");
        let report = |slot: &SessionSlot| app.run_report(slot, &vitrine_reports::ReportQuery { kind: vitrine_reports::ReportKind::Feedback, ..Default::default() });
        assert!(report(&slot).is_err());
        app.sign_in(&slot, "Demo Clerk", "1357").unwrap();
        assert!(report(&slot).is_err(), "clerks do not read feedback");
        app.sign_out(&slot);
        app.sign_in(&slot, "Demo Manager", "2468").unwrap();
        let table = report(&slot).unwrap();
        let hoodie_staff = table.rows.iter().find(|r| r[0] == vitrine_reports::Cell::Text("Drift Hoodie".into()) && r[1] == vitrine_reports::Cell::Text("staff".into())).expect("the hoodie's staff row");
        assert_eq!(hoodie_staff[2], vitrine_reports::Cell::Int(1));
        assert!(table.rows.iter().any(|r| r[0] == vitrine_reports::Cell::Text("(the store)".into())));
        let trend = app.feedback_trend(&slot, 30).unwrap();
        assert_eq!(trend.points.len(), 1);
    }
}
