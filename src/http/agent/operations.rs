//! Server operations for admins: backups on request.

use crate::http::error::{fields, success, ApiError};
use crate::http::extract::{grant, Authorized};
use crate::http::AppState;
use actix_web::{web, HttpResponse};
use serde_json::json;

/// `POST /api/v1/visitord.backup` (`manage-server`: admins) — takes a backup now into
/// `backup.dir` while the server keeps serving; answers
/// `{"backup":{"file":<name>,"records":N,"bytes":N},"success":true}` once the file is complete
/// and synced. A request body, if any, is ignored.
pub async fn backup(
    state: web::Data<AppState>,
    _agent: Authorized<grant::ManageServer>,
) -> Result<HttpResponse, ApiError> {
    let Some(store) = state.store.clone() else {
        return Err(ApiError::Coded {
            code: "error-not-allowed",
            reason: Some(crate::postgres::NO_BACKUP.into()),
            details: None,
        });
    };
    let config = state.config.backup.clone();
    let taken = web::block(move || crate::backup_schedule::take(&store, &config))
        .await
        .map_err(|e| ApiError::Internal(format!("blocking pool: {e}")))?
        .map_err(ApiError::Internal)?;
    log::info!(
        "backup {} on request: {} records, {} bytes in {:.1} s",
        taken.file.display(),
        taken.written.records,
        taken.written.bytes,
        taken.took.as_secs_f64()
    );
    let name = taken
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(success(fields([(
        "backup",
        json!({
            "file": name,
            "records": taken.written.records,
            "bytes": taken.written.bytes,
        }),
    )])))
}
