//! The visitor resource: register/update, read by token, GDPR erase.

use crate::config::{Config, CustomFieldsMode};
use crate::domain::{CustomFieldWrite, HttpInfo, MergePolicy, Registration};
use crate::http::body::JsonBody;
use crate::http::error::{fields, json_response, success, ApiError};
use crate::http::extract::{limit, PerIp};
use crate::http::param_errors::{expected, maybe_string, missing, string, unknown};
use crate::http::{lookup, visitor_ip, write, AppState};
use crate::model::wire::{self, Token};
use crate::model::{limits, Visitor};
use crate::time::{iso, now_ms};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

/// `POST /api/v1/livechat/visitor` — register a visitor or update the one it matches.
pub async fn register(
    _counted: PerIp<limit::RegisterVisitor>,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let body = body.object()?;
    let raw = parse_register(&body)?;
    let mut reg = validate(raw, &state.config)?;
    if state.config.livechat.store_http_headers {
        // Header values are the client's to choose: keep a bounded prefix of each.
        let bounded = |value: Option<String>, max: usize| {
            value.map(|v| v.chars().take(max).collect::<String>())
        };
        let header = |name: header::HeaderName| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        reg.http = Some(HttpInfo {
            user_agent: bounded(header(header::USER_AGENT), limits::USER_AGENT_CHARS),
            ip: bounded(visitor_ip(&req), limits::IP_CHARS),
            host: bounded(header(header::HOST), limits::HOST_CHARS),
        });
    }
    let now = now_ms();
    let visitor = write(&state, move |s| s.register_visitor(&reg, now)).await?;
    Ok(shown(&visitor))
}

/// `GET /api/v1/livechat/visitor/{token}` — the whole visitor document, token included.
pub async fn get(
    _counted: PerIp<limit::GetVisitor>,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = token.into_inner();
    let visitor = lookup(&state, move |s| s.visitor_by_token(&token))
        .await?
        .ok_or_else(|| ApiError::code("invalid-token"))?;
    Ok(shown(&visitor))
}

/// The answer of `register` and `get`: the visitor with its token, serialized straight from
/// the record.
fn shown(visitor: &Visitor) -> HttpResponse {
    #[derive(serde::Serialize)]
    struct Shown<'a> {
        visitor: wire::VisitorDoc<'a>,
        success: bool,
    }
    let body = Shown {
        visitor: wire::VisitorDoc::of(visitor, Token::Show),
        success: true,
    };
    json_response(StatusCode::OK, &body)
}

/// `DELETE /api/v1/livechat/visitor/{token}` — GDPR erasure of the visitor and all it left.
pub async fn delete(
    _counted: PerIp<limit::DeleteVisitor>,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let allow_open = state.config.livechat.allow_delete_with_open_rooms;
    let id = write(&state, move |s| s.delete_visitor(&token, allow_open)).await?;
    Ok(success(fields([(
        "visitor",
        json!({ "_id": id, "ts": iso(now_ms()) }),
    )])))
}

/// The body of a registration after Meteor's `check()`, before our own rules.
#[derive(Debug, Default)]
struct RawRegistration {
    token: String,
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    username: Option<String>,
    department: Option<String>,
    custom_fields: Option<Vec<CustomFieldWrite>>,
}

/// `check(body, {visitor: Match.ObjectIncluding({...})})`, in Meteor's order: keys in document
/// order (the first fault wins), unknown keys refused at the top level, then missing keys.
fn parse_register(body: &Map<String, Value>) -> Result<RawRegistration, ApiError> {
    let mut found = None;
    for (key, value) in body {
        if key == "visitor" {
            found = Some(parse_visitor(value)?);
        } else {
            return Err(unknown(key));
        }
    }
    found.ok_or_else(|| missing("visitor", ""))
}

fn parse_visitor(value: &Value) -> Result<RawRegistration, ApiError> {
    let Value::Object(v) = value else {
        return Err(expected("object", value, "visitor"));
    };
    let mut raw = RawRegistration::default();
    let mut token = None;
    for (key, value) in v {
        let path = format!("visitor.{key}");
        match key.as_str() {
            "token" => token = Some(string(value, &path)?),
            "name" => raw.name = maybe_string(Some(value), &path)?,
            "email" => raw.email = maybe_string(Some(value), &path)?,
            "phone" => raw.phone = maybe_string(Some(value), &path)?,
            "username" => raw.username = maybe_string(Some(value), &path)?,
            "department" => raw.department = maybe_string(Some(value), &path)?,
            "customFields" => raw.custom_fields = parse_custom_fields(value)?,
            _ => {} // Match.ObjectIncluding: other keys (connectionData, id …) pass.
        }
    }
    raw.token = token.ok_or_else(|| missing("token", "visitor"))?;
    Ok(raw)
}

fn parse_custom_fields(value: &Value) -> Result<Option<Vec<CustomFieldWrite>>, ApiError> {
    let items = match value {
        Value::Null => return Ok(None),
        Value::Array(items) => items,
        other => return Err(expected("array", other, "visitor.customFields")),
    };
    let mut out = Vec::with_capacity(items.len().min(limits::CUSTOM_FIELDS + 1));
    for (i, item) in items.iter().enumerate() {
        let path = format!("visitor.customFields[{i}]");
        let Value::Object(entry) = item else {
            return Err(expected("object", item, &path));
        };
        let (mut key, mut val, mut overwrite) = (None, None, None);
        for (k, v) in entry {
            let field = format!("{path}.{k}");
            match k.as_str() {
                "key" => key = Some(string(v, &field)?),
                "value" => val = Some(string(v, &field)?),
                "overwrite" => match v {
                    Value::Bool(b) => overwrite = Some(*b),
                    other => return Err(expected("boolean", other, &field)),
                },
                _ => {}
            }
        }
        out.push(CustomFieldWrite {
            key: key.ok_or_else(|| missing("key", &path))?,
            value: val.ok_or_else(|| missing("value", &path))?,
            overwrite: overwrite.ok_or_else(|| missing("overwrite", &path))?,
        });
    }
    Ok(Some(out))
}

fn check_len(field: &str, value: &Option<String>, max: usize) -> Result<(), ApiError> {
    match value {
        Some(v) if v.chars().count() > max => Err(ApiError::too_long(field, max)),
        _ => Ok(()),
    }
}

/// Our rules after `check()`: token not blank, length limits, email shape, custom-field mode.
fn validate(raw: RawRegistration, config: &Config) -> Result<Registration, ApiError> {
    if raw.token.trim().is_empty() {
        return Err(ApiError::Coded {
            code: "error-invalid-token",
            reason: Some("Token cannot be empty".into()),
            details: Some(json!({ "method": "livechat/visitor" })),
        });
    }
    if raw.token.len() > limits::TOKEN_BYTES {
        return Err(ApiError::too_long("token", limits::TOKEN_BYTES));
    }
    let email = raw
        .email
        .as_deref()
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty());
    check_len("name", &raw.name, limits::NAME_CHARS)?;
    check_len("username", &raw.username, limits::NAME_CHARS)?;
    check_len("email", &email, limits::EMAIL_CHARS)?;
    check_len("phone", &raw.phone, limits::PHONE_CHARS)?;
    check_len("department", &raw.department, limits::DEPARTMENT_CHARS)?;
    let custom = raw.custom_fields.unwrap_or_default();
    if custom.len() > limits::CUSTOM_FIELDS {
        return Err(ApiError::too_long("customFields", limits::CUSTOM_FIELDS));
    }
    for field in &custom {
        if field.key.chars().count() > limits::FIELD_KEY_CHARS {
            return Err(ApiError::too_long(
                "customFields.key",
                limits::FIELD_KEY_CHARS,
            ));
        }
        if field.value.chars().count() > limits::FIELD_VALUE_CHARS {
            return Err(ApiError::too_long(
                "customFields.value",
                limits::FIELD_VALUE_CHARS,
            ));
        }
    }
    if let Some(email) = &email {
        if !limits::valid_email(email) {
            return Err(ApiError::Coded {
                code: "error-invalid-email",
                reason: Some(format!("Invalid email {email}")),
                details: Some(json!({ "function": "Livechat.validateEmail", "email": email })),
            });
        }
    }
    let custom_fields = filter_custom_fields(custom, config)?;
    Ok(Registration {
        token: raw.token,
        name: raw.name.filter(|n| !n.is_empty()),
        email,
        phone: raw.phone.filter(|p| !p.is_empty()),
        username: raw.username.filter(|u| !u.is_empty()),
        department: raw.department.filter(|d| !d.is_empty()),
        custom_fields,
        http: None,
        merge: MergePolicy::of(&config.livechat.merge_by),
    })
}

/// Applies `livechat.custom_fields_mode` and the `required` definitions (checked only when
/// the request carries custom fields, as Rocket.Chat does).
fn filter_custom_fields(
    fields: Vec<CustomFieldWrite>,
    config: &Config,
) -> Result<Vec<CustomFieldWrite>, ApiError> {
    if fields.is_empty() {
        return Ok(fields);
    }
    let missing: Vec<&str> = config
        .visitor_fields()
        .filter(|d| d.required && !fields.iter().any(|f| f.key == d.id))
        .map(|d| d.id.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::Plain(format!(
            "Missing required custom fields: {}",
            missing.join(", ")
        )));
    }
    Ok(match config.livechat.custom_fields_mode {
        CustomFieldsMode::Any => fields,
        CustomFieldsMode::Defined => fields
            .into_iter()
            .filter(|f| config.visitor_fields().any(|d| d.id == f.key))
            .collect(),
    })
}
