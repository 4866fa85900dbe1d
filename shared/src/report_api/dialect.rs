//! A real API's dialect: where its JSON keeps the fields the pipeline reads,
//! and which of its status words mean what.

use serde_json::Value;

use super::{CreatedReport, StatusReply};
use crate::config::{self, Lookup};
use crate::payload::ReportStatus;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiDialect {
    pub id_field: String,
    pub status_url_field: String,
    pub status_field: String,
    pub download_url_field: String,
    pub in_progress: Vec<String>,
    pub completed: Vec<String>,
    pub failed: Vec<String>,
}

impl Default for ApiDialect {
    fn default() -> Self {
        ApiDialect {
            id_field: "report_id".into(),
            status_url_field: "status_url".into(),
            status_field: "status".into(),
            download_url_field: "download_url".into(),
            in_progress: vec!["IN_PROGRESS".into()],
            completed: vec!["COMPLETED".into()],
            failed: vec!["FAILED".into()],
        }
    }
}

impl ApiDialect {
    pub fn from_lookup(env: &dyn Lookup) -> Self {
        let d = ApiDialect::default();
        ApiDialect {
            id_field: config::string_or(env, "REPORT_ID_FIELD", &d.id_field),
            status_url_field: config::string_or(
                env,
                "REPORT_STATUS_URL_FIELD",
                &d.status_url_field,
            ),
            status_field: config::string_or(env, "REPORT_STATUS_FIELD", &d.status_field),
            download_url_field: config::string_or(
                env,
                "REPORT_DOWNLOAD_URL_FIELD",
                &d.download_url_field,
            ),
            in_progress: config::list_or(env, "REPORT_STATUS_IN_PROGRESS", &["IN_PROGRESS"]),
            completed: config::list_or(env, "REPORT_STATUS_COMPLETED", &["COMPLETED"]),
            failed: config::list_or(env, "REPORT_STATUS_FAILED", &["FAILED"]),
        }
    }

    /// Translates a status body. An unknown status word is an error rather
    /// than "still in progress": polling on a word we do not understand would
    /// burn the whole poll budget and hide the real problem.
    pub fn read_status(&self, body: &Value) -> Result<StatusReply, String> {
        let word = match lookup_field(body, &self.status_field) {
            Some(Value::String(s)) => s.as_str(),
            Some(other) => {
                return Err(format!(
                    "field {:?} is not a string: {other}",
                    self.status_field
                ))
            }
            None => return Err(format!("field {:?} is missing", self.status_field)),
        };
        let status = if self.completed.iter().any(|w| w == word) {
            ReportStatus::Completed
        } else if self.failed.iter().any(|w| w == word) {
            ReportStatus::Failed
        } else if self.in_progress.iter().any(|w| w == word) {
            ReportStatus::InProgress
        } else {
            return Err(format!(
                "unknown status {word:?} in field {:?}",
                self.status_field
            ));
        };
        let download_url = match lookup_field(body, &self.download_url_field) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                return Err(format!(
                    "field {:?} is not a string: {other}",
                    self.download_url_field
                ))
            }
        };
        if status == ReportStatus::Completed && download_url.is_none() {
            return Err(format!(
                "status is {word:?} but field {:?} is empty",
                self.download_url_field
            ));
        }
        Ok(StatusReply {
            status,
            download_url,
        })
    }

    pub fn read_created(&self, body: &Value) -> Result<CreatedReport, String> {
        let text = |field: &str| match lookup_field(body, field) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(other) => Err(format!(
                "field {field:?} is not a non-empty string: {other}"
            )),
            None => Err(format!("field {field:?} is missing")),
        };
        Ok(CreatedReport {
            report_id: text(&self.id_field)?,
            status_url: text(&self.status_url_field)?,
        })
    }
}

/// A field by name, or by a dotted path (`data.status`) for APIs that nest.
fn lookup_field<'a>(body: &'a Value, field: &str) -> Option<&'a Value> {
    if let Some(v) = body.get(field) {
        return Some(v);
    }
    field.split('.').try_fold(body, |v, part| v.get(part))
}
